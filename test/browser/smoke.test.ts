import type { Browser, Page } from 'puppeteer-core';
import { APP_PAGE_CSP } from '../../src/http/web-client';
import { launchBrowser, newContext, pageErrors, shot, startWebServer } from '../helpers/browser';
import { CHROMIUM, describeWith } from '../helpers/prereq';
import type { TestServer } from '../helpers/server';
import { webFixture, type WebFixture } from '../helpers/web-fixture';

/**
 * The browser plumbing before the real client exists: a fixture page served by the real server,
 * whose bundle calls the API over fetch, a graphql-ws socket and a worker, in headless Chromium.
 * It proves the app page's CSP lets the app talk to its own server and stops inline script.
 */

/** The fixture bundle: marks that it ran, then writes what fetch and the socket got into the page. */
const APP_JS = `const show = (id, text) => { document.getElementById(id).textContent = text; };
show('script', 'ran');
fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) })
  .then((r) => r.json())
  .then((b) => show('fetch', 'fetch: ' + b.data.__typename), (e) => show('fetch', 'fetch failed: ' + e));
const ws = new WebSocket('ws://' + location.host + '/graphql', 'graphql-transport-ws');
ws.onopen = () => ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
ws.onmessage = (e) => { show('ws', 'ws: ' + JSON.parse(e.data).type); ws.close(); };
ws.onerror = () => show('ws', 'ws failed');
const worker = new Worker('/assets/worker.js');
worker.onmessage = (e) => show('worker', e.data);
worker.onerror = () => show('worker', 'worker failed');
`;

/** A worker built into assets/, as Vite emits one: it runs under its own response's CSP. */
const WORKER_JS = `fetch('/healthz').then((r) => r.json()).then((b) => postMessage('worker: ' + b.status), (e) => postMessage('worker fetch failed: ' + e));`;

const ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#36c"/></svg>';
const BODY = '<h1>Parley browser smoke test</h1><p id="script">not run</p><p id="fetch">pending</p><p id="ws">pending</p><p id="worker">pending</p>';
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>smoke</title><link rel="icon" href="/favicon.svg"><script type="module" src="/assets/app.js"></script></head><body>${BODY}</body></html>`;
/** The same page with an inline script and an inline event handler, both of which the CSP must stop. */
const PAGE_WITH_INLINE = PAGE.replace(
  '</body>',
  `<p id="inline">inline blocked</p><script>document.getElementById('inline').textContent = 'inline ran';</script>` +
    `<img id="img" src="/assets/missing.png" alt="" onerror="document.getElementById('inline').textContent = 'handler ran'"></body>`,
);

/** The text of the element `id` in the page. */
function text(page: Page, id: string): Promise<unknown> {
  return page.evaluate(`document.getElementById(${JSON.stringify(id)}).textContent`);
}

/** Opens the app in a fresh context and waits until its bundle has heard back from fetch, the socket and the worker. */
async function openApp(browser: Browser, url: string) {
  const context = await newContext(browser);
  const page = await context.newPage();
  const errors = await pageErrors(page);
  const res = await page.goto(`${url}/`, { waitUntil: 'load' });
  await page.waitForFunction(`['fetch', 'ws', 'worker'].every((id) => document.getElementById(id).textContent !== 'pending')`);
  return { page, errors, csp: res?.headers()['content-security-policy'] };
}

describeWith([CHROMIUM], 'the app page in a real browser (fixture build)', () => {
  let fx: WebFixture;
  let t: TestServer | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    fx = webFixture({ 'index.html': PAGE, 'assets/app.js': APP_JS, 'assets/worker.js': WORKER_JS, 'favicon.svg': ICON });
    t = await startWebServer({ webDir: fx.dir });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    fx.remove();
  });

  it('runs the bundle, which reaches the API over fetch, graphql-ws and a worker, with no CSP violation or error', async () => {
    const { page, errors, csp } = await openApp(browser!, t!.url);
    await shot(page, 'smoke-fixture');
    expect(csp).toBe(APP_PAGE_CSP);
    expect(await text(page, 'script')).toBe('ran');
    expect(await text(page, 'fetch')).toBe('fetch: Query');
    expect(await text(page, 'ws')).toBe('ws: connection_ack');
    expect(await text(page, 'worker')).toBe('worker: ok');
    expect(errors.all()).toEqual([]);
  });

  it('does not run an inline script or an inline event handler, and reports both as CSP violations', async () => {
    fx.write('index.html', PAGE_WITH_INLINE);
    const { page, errors } = await openApp(browser!, t!.url);
    const isInline = (directive: string) => (v: { directive: string; blockedURI: string }) => v.directive === directive && v.blockedURI === 'inline';
    await errors.cspViolation(isInline('script-src-elem'));
    await errors.cspViolation(isInline('script-src-attr')); // the image failed to load and its handler was refused
    await shot(page, 'smoke-inline-refused');
    expect(await text(page, 'inline')).toBe('inline blocked');
    expect(await text(page, 'script')).toBe('ran');
    expect(await text(page, 'ws')).toBe('ws: connection_ack');
    expect(errors.cspViolations.filter((v) => v.blockedURI !== 'inline')).toEqual([]);
  });
});
