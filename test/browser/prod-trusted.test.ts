import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'puppeteer-core';
import { APP_PAGE_CSP } from '../../src/http/web-client';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { launchBrowser, pageErrors, shot } from '../helpers/browser';
import { ROOT } from '../helpers/paths';
import { CHROMIUM, WEB_BUILD, describeWith, type Prerequisite } from '../helpers/prereq';
import { gql, startTestServer, type TestServer } from '../helpers/server';
import { startStaticHost, type StaticHost } from '../helpers/static-host';
import { openApp, registerInUi, text, uniqueEmail } from './web-ui';

const WEB = path.join(ROOT, 'web');
/** Vite, to build the client for another origin (installed by `npm run web:build`). */
const WEB_TOOLCHAIN: Prerequisite = {
  missing: () =>
    fs.existsSync(path.join(WEB, 'node_modules', '.bin', 'vite')) ? undefined : "the web client's packages are not installed (npm run web:build)",
};

/**
 * The reference app against a prod-mode server that runs trusted documents only, hosted the way
 * README says to host it elsewhere: built for the API's URL, served from an origin of its own with
 * the recommended CSP, the API allowing that one origin (CORS and the WebSocket origin gate).
 */
describeWith([CHROMIUM, WEB_BUILD, WEB_TOOLCHAIN], 'web client against a prod server with PERSISTED_QUERIES_ONLY=true', () => {
  let host: StaticHost;
  let t: TestServer;
  let browser: Browser;
  let dist = '';
  let csp = APP_PAGE_CSP;
  let fake: FakeOpenAI;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    host = await startStaticHost(
      () => dist,
      () => csp,
    );
    t = await startTestServer({
      env: {
        APP_ENV: 'prod',
        SECRET_KEY: randomBytes(48).toString('base64url'),
        CORS_ORIGINS: host.origin,
        PERSISTED_QUERIES_ONLY: 'true',
        PERSISTED_QUERIES_FILE: path.join(ROOT, 'persisted-queries.json'),
        AI_PROVIDER: 'openai', // prod has no development echo: a local server speaking OpenAI's wire format
        OPENAI_BASE_URL: fake.url,
        OPENAI_API_KEY: 'sk-test-key',
        AI_MODELS: 'paced',
      },
    });
    const api = new URL(t.url);
    const apiOrigin = `http://localhost:${api.port}`;
    csp = APP_PAGE_CSP.replace("connect-src 'self'", `connect-src 'self' ${apiOrigin} ws://localhost:${api.port}`);
    dist = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-web-prod-'));
    execFileSync(path.join(WEB, 'node_modules', '.bin', 'vite'), ['build', '--outDir', dist, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: WEB,
      env: { ...process.env, VITE_PARLEY_API_URL: `${apiOrigin}/graphql` },
      stdio: 'pipe',
    });
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await host?.close();
    await fake?.close();
    if (dist) fs.rmSync(dist, { recursive: true, force: true });
  });

  it('the server refuses a free-form document, so everything below ran from the manifest', async () => {
    const res = await gql(t.graphqlUrl, '{ __typename }');
    expect(res.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  it('registers, reloads into the same session through the cross-origin refresh cookie, lists its sessions and chats', async () => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    const errors = await pageErrors(page);
    const email = uniqueEmail('prod');
    await openApp(page, host.origin);
    await registerInUi(page, email);
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForSelector('[data-testid=whoami]');
    expect(await text(page, '[data-testid=whoami]')).toContain(email);
    await page.goto(`${host.origin}/#/account`);
    await page.waitForSelector('[data-testid=sessions] tbody tr');
    await shot(page, 'prod-trusted-account');
    // A chat: the conversation and the send over HTTP, the reply streamed over the API's socket.
    await page.goto(`${host.origin}/#/chat`);
    await page.waitForSelector('form[aria-label="New chat"] select[name=model] option');
    await page.click('form[aria-label="New chat"] button[type=submit]');
    await page.waitForSelector('#composer-text');
    await page.type('#composer-text', 'hello from another origin');
    await page.keyboard.press('Enter');
    const last = `[...document.querySelectorAll('[data-testid=message][data-role=ASSISTANT]')].pop()`;
    await page.waitForFunction(`${last}?.getAttribute('data-status') === 'COMPLETE'`, { timeout: 30_000 });
    expect(await page.evaluate(`${last}.querySelector('[data-testid=message-content]').textContent`)).toBe('Hello from the fake model, streaming nicely.');
    expect(errors.all()).toEqual([]);
    expect(t.logs.raw.join('\n')).not.toContain('PERSISTED_QUERY_NOT_FOUND');
    await context.close();
  });
});
