import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, HTTPResponse, Page } from 'puppeteer-core';
import { launchBrowser, newContext, pageErrors, shot, startWebServer } from '../helpers/browser';
import { CHROMIUM, WEB_BUILD, describeWith } from '../helpers/prereq';
import type { TestServer } from '../helpers/server';
import { clearInput, openApp, registerInUi, signInInUi, signInRefused, STRONG_PASSWORD, text, uniqueEmail } from './web-ui';

/** The name of the first finished download in `dir` (Chrome writes `.crdownload` until done). */
async function downloaded(dir: string): Promise<string> {
  for (let waited = 0; waited < 20_000; waited += 100) {
    const done = fs.readdirSync(dir).find((f) => !f.endsWith('.crdownload'));
    if (done) return done;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no download finished in ${dir}`);
}

/** True for a response to the app's cookie refresh. */
function isRefresh(res: HTTPResponse): boolean {
  return res.request().method() === 'POST' && (res.request().postData() ?? '').includes('"operationName":"RefreshSession"');
}

describeWith([CHROMIUM, WEB_BUILD], 'web client: accounts in a real browser', () => {
  let t: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    t = await startWebServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });
  async function freshPage(): Promise<Page> {
    const context = await newContext(browser);
    contexts.push(context);
    return context.newPage();
  }

  it('registers, keeps the session over a reload from the HttpOnly cookie alone, signs out and back in', async () => {
    const page = await freshPage();
    const errors = await pageErrors(page);
    const email = uniqueEmail('acct');
    const refreshes: string[] = [];
    page.on('request', (req) => {
      if ((req.postData() ?? '').includes('"operationName":"RefreshSession"')) refreshes.push(req.url());
    });
    await openApp(page, t.url);
    await shot(page, 'sign-in');
    expect(refreshes).toEqual([]); // a browser that never signed in does not try the cookie
    await registerInUi(page, email);
    expect(await text(page, '[data-testid=whoami]')).toContain(email);
    // Nothing a script could read holds a token: not storage, not a readable cookie.
    const readable = await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie');
    expect(readable).not.toMatch(/eyJ|parley_refresh/);
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForSelector('[data-testid=whoami]');
    expect(await text(page, '[data-testid=whoami]')).toContain(email);
    expect(refreshes).toHaveLength(1); // the reload signed back in through the cookie
    await page.click('header button');
    await page.waitForSelector('form[aria-label="Sign in"]');
    await page.reload({ waitUntil: 'domcontentloaded' });
    await page.waitForSelector('form[aria-label="Sign in"]'); // the cookie went with the sign-out
    expect(refreshes).toHaveLength(1); // and, signed out, a reload no longer tries it
    await signInInUi(page, email);
    await page.goto(`${t.url}/#/account`);
    await page.waitForSelector('[data-testid=sessions] tbody tr');
    await shot(page, 'account');
    expect(errors.all()).toEqual([]);
  });

  it("shows the server's refusal for a wrong password and lets the next attempt through with a fresh captcha", async () => {
    const page = await freshPage();
    const errors = await pageErrors(page);
    const email = uniqueEmail('wrong');
    await openApp(page, t.url);
    await registerInUi(page, email);
    await page.click('header button');
    const alert = await signInRefused(page, email, 'not-the-password-at-all');
    expect(alert).toMatch(/invalid|incorrect/i);
    await clearInput(page, 'input[name=password]');
    await signInInUi(page, email);
    expect(errors.pageErrors).toEqual([]);
    expect(errors.cspViolations).toEqual([]);
  });

  it('revoking a session from a second browser signs the first one out at once, without a click there', async () => {
    const email = uniqueEmail('revoke');
    const first = await freshPage();
    await openApp(first, t.url);
    await registerInUi(first, email);
    const second = await freshPage();
    await openApp(second, t.url);
    await signInInUi(second, email);
    await second.goto(`${t.url}/#/account`);
    await second.waitForFunction("document.querySelectorAll('[data-testid=sessions] tbody tr').length === 2");
    await second.click('[data-testid=sessions] tbody tr[data-current=false] button');
    // The server closes the first browser's socket (4403); its refresh is refused; it signs out.
    await first.waitForSelector('[data-testid=signed-out-notice]', { timeout: 30_000 });
    expect(await text(first, '[data-testid=signed-out-notice]')).toMatch(/session/i);
    await second.waitForFunction("document.querySelectorAll('[data-testid=sessions] tbody tr').length === 1");
    await first.reload({ waitUntil: 'domcontentloaded' });
    await first.waitForSelector('form[aria-label="Sign in"]'); // its refresh cookie is dead too
    await shot(first, 'signed-out-by-revocation');
  });

  it('changes the password, downloads the data export, and deletes the account', async () => {
    const downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-dl-'));
    const context = await browser.createBrowserContext({ downloadBehavior: { policy: 'allow', downloadPath: downloads } });
    contexts.push(context);
    const page = await context.newPage();
    const errors = await pageErrors(page);
    const email = uniqueEmail('data');
    await openApp(page, t.url);
    await registerInUi(page, email);
    await page.goto(`${t.url}/#/account`);
    const newPassword = `${STRONG_PASSWORD}-renewed`;
    await page.type('input[name=currentPassword]', STRONG_PASSWORD);
    await page.type('input[name=newPassword]', newPassword);
    await page.click('form[aria-label="Change password"] button[type=submit]');
    await page.waitForSelector('form[aria-label="Change password"] .ok');

    await page.click('::-p-text(Download my data)');
    const file = await downloaded(downloads);
    expect(file).toMatch(/^parley-export-\d{4}-\d{2}-\d{2}\.json$/);
    expect(fs.readFileSync(path.join(downloads, file), 'utf8')).toContain(email);

    page.on('dialog', (d) => void d.accept());
    await page.type('input[name=deletePassword]', newPassword);
    await page.click('form[aria-label="Delete account"] button[type=submit]');
    await page.waitForSelector('[data-testid=signed-out-notice]');
    expect(await text(page, '[data-testid=signed-out-notice]')).toMatch(/deleted/i);
    expect(await signInRefused(page, email, newPassword)).toMatch(/invalid|incorrect/i);
    expect(errors.pageErrors).toEqual([]);
    expect(errors.cspViolations).toEqual([]);
  });
});

describeWith([CHROMIUM, WEB_BUILD], 'web client: token refresh in a real browser', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('refreshes silently a minute before the access token expires', async () => {
    const t = await startWebServer({ env: { ACCESS_TOKEN_TTL: '65' } }); // refresh due 5 s after sign-in
    try {
      const page = await (await newContext(browser)).newPage();
      await openApp(page, t.url);
      await registerInUi(page, uniqueEmail('silent'));
      const refreshed = await page.waitForResponse(isRefresh, { timeout: 30_000 });
      expect(((await refreshed.json()) as { data: { refreshSession: { accessToken: string } } }).data.refreshSession.accessToken).toMatch(/^eyJ/);
      await page.goto(`${t.url}/#/account`);
      await page.waitForSelector('[data-testid=sessions] tbody tr');
      expect(await page.$('[data-testid=signed-out-notice]')).toBeNull();
    } finally {
      await t.close();
    }
  });

  it('refreshes and retries once when the server says the token expired (a client clock five minutes slow)', async () => {
    const t = await startWebServer({ env: { ACCESS_TOKEN_TTL: '3' } });
    try {
      const page = await (await newContext(browser)).newPage();
      // The page believes its token has minutes left, so only the server's UNAUTHENTICATED can tell it.
      await page.evaluateOnNewDocument(() => {
        const real = Date.now.bind(Date);
        Date.now = () => real() - 300_000;
      });
      await openApp(page, t.url);
      await registerInUi(page, uniqueEmail('skew'));
      await new Promise((r) => setTimeout(r, 4_000)); // the server's clock must pass the 3 s token's expiry
      const refused: string[] = [];
      page.on('response', (res) => {
        if ((res.request().postData() ?? '').includes('"operationName":"MySessions"')) void res.text().then((b) => refused.push(b));
      });
      const refreshed = page.waitForResponse(isRefresh, { timeout: 30_000 });
      await page.goto(`${t.url}/#/account`);
      await refreshed;
      await page.waitForSelector('[data-testid=sessions] tbody tr');
      expect(refused.some((b) => b.includes('TOKEN_EXPIRED'))).toBe(true); // the first try was refused, the retry answered
      expect(await page.$('[data-testid=signed-out-notice]')).toBeNull();
    } finally {
      await t.close();
    }
  });
});
