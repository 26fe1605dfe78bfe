import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import { CHROMIUM_PATH, WEB_DIST } from './prereq';
import { ROOT } from './paths';
import { startTestServer, type TestServer } from './server';

/**
 * Browser tests: Debian's Chromium (prereq.ts CHROMIUM) driven headless by puppeteer-core against
 * a real test server that serves the built client. Guard every block with
 * `describeWith([CHROMIUM, ...], ...)` so a machine without the browser skips with the reason.
 */

/** Where screenshots go: kept by CI as artifacts, ignored by git. */
export const SCREENSHOTS = path.join(ROOT, 'test-artifacts', 'screenshots');

/**
 * Starts headless Chromium. `--no-sandbox` because CI runs as root (Chromium refuses its sandbox
 * there); no GPU in containers; /dev/shm is small in Docker, so shared memory goes to /tmp.
 */
export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: 30_000, // to start the browser
    protocolTimeout: 60_000, // any single DevTools call, so a wedged browser fails the test instead of hanging it
  });
}

/** A fresh context: its own cookies and storage, like a second person (or a second device) using the app. */
export function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.createBrowserContext();
}

/** Saves a full-page screenshot as test-artifacts/screenshots/<name>.png and returns its path. */
export async function shot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`) as `${string}.png`;
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** A CSP violation as the page saw it (`securitypolicyviolation`). */
export interface CspViolation {
  directive: string;
  blockedURI: string;
  sourceFile: string;
}

/** What went wrong in a page: read `all()` (or the parts) and assert it is empty. */
export interface PageErrors {
  /** `console.error` messages (Chrome logs refused loads and CSP refusals here too). */
  consoleErrors: string[];
  /** Uncaught exceptions and unhandled rejections. */
  pageErrors: string[];
  /** Requests that failed outright (refused, blocked, network error); HTTP error statuses are not failures. */
  failedRequests: string[];
  /** Every `securitypolicyviolation` event, from every document the page loads. */
  cspViolations: CspViolation[];
  /** Everything above as one list of lines, for `expect(errors.all()).toEqual([])`. */
  all(): string[];
  /** Resolves with the first violation (seen or to come) matching `pred`; rejects after `timeoutMs` naming those seen. */
  cspViolation(pred: (v: CspViolation) => boolean, timeoutMs?: number): Promise<CspViolation>;
}

/** The page's listener for CSP violations, installed before any of its scripts run. */
const CSP_LISTENER = `document.addEventListener('securitypolicyviolation', (e) => {
  window.__parleyCspViolation({ directive: e.effectiveDirective, blockedURI: e.blockedURI, sourceFile: e.sourceFile || '' });
});`;

/**
 * Starts collecting a page's errors; call before `goto`. A CSP violation is reported by the
 * browser's own event (so an inline handler or a refused socket counts even when nothing logs it).
 */
export async function pageErrors(page: Page): Promise<PageErrors> {
  const waiters: ((v: CspViolation) => void)[] = [];
  const errors: PageErrors = {
    consoleErrors: [],
    pageErrors: [],
    failedRequests: [],
    cspViolations: [],
    all: () => [
      ...errors.consoleErrors.map((m) => `console: ${m}`),
      ...errors.pageErrors.map((m) => `page error: ${m}`),
      ...errors.failedRequests.map((m) => `request failed: ${m}`),
      ...errors.cspViolations.map((v) => `CSP violation: ${v.directive} blocked ${v.blockedURI} (${v.sourceFile})`),
    ],
    cspViolation: (pred, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const seen = errors.cspViolations.find(pred);
        if (seen) return resolve(seen);
        const timer = setTimeout(() => reject(new Error(`no such CSP violation; seen: ${JSON.stringify(errors.cspViolations)}`)), timeoutMs);
        waiters.push((v) => {
          if (!pred(v)) return;
          clearTimeout(timer);
          resolve(v);
        });
      }),
  };
  page.on('console', (msg) => {
    const where = msg.location().url; // "Failed to load resource" names no URL itself
    if (msg.type() === 'error') errors.consoleErrors.push(where ? `${msg.text()} (${where})` : msg.text());
  });
  page.on('pageerror', (err) => errors.pageErrors.push(err instanceof Error ? err.message : String(err)));
  page.on('requestfailed', (req) => errors.failedRequests.push(`${req.method()} ${req.url()}: ${req.failure()?.errorText ?? 'failed'}`));
  await page.exposeFunction('__parleyCspViolation', (v: CspViolation) => {
    errors.cspViolations.push(v);
    for (const waiter of waiters) waiter(v);
  });
  await page.evaluateOnNewDocument(CSP_LISTENER);
  return errors;
}

/** A free TCP port on 127.0.0.1 (the OS's pick), to know the server's origin before it starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts a test server (helpers/server.ts, APP_ENV=test) serving the built client from `webDir`
 * (default: the real `web/dist`). Its `url` is the app's address (http://127.0.0.1:<port>),
 * also its one CORS origin: outside dev the WebSocket gate admits only listed browser origins,
 * and the app's own page is one. Close it with `close()`.
 */
export async function startWebServer(opts: { echoTokenDelayMs?: number; webDir?: string; env?: Record<string, string> } = {}): Promise<TestServer> {
  const port = await freePort();
  return startTestServer({
    env: {
      PORT: String(port),
      CORS_ORIGINS: `http://127.0.0.1:${port}`,
      WEB_DIR: opts.webDir ?? WEB_DIST,
      ECHO_TOKEN_DELAY_MS: String(opts.echoTokenDelayMs ?? 20),
      CAPTCHA_DIFFICULTY: '1000', // the widget solves it in a blink, as in the other tests
      ...opts.env,
    },
  });
}
