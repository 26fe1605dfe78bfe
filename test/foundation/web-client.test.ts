import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { APP_PAGE_CSP } from '../../src/http/web-client';
import { startTestServer, type TestServer } from '../helpers/server';
import { webFixture, type WebFixture } from '../helpers/web-fixture';

const INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-abc123.js"></script></head><body>fixture page</body></html>';
const APP_JS = 'document.body.dataset.ran = "yes";';
/** What a file outside WEB_DIR holds; no answer may contain it. */
const SECRET = `secret-${randomBytes(8).toString('hex')}`;

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends `pathname` exactly as written (fetch would normalise `..` and re-encode), like a hostile client. */
function raw(base: string, pathname: string, method = 'GET'): Promise<RawResponse> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: pathname, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A fixture build, a file outside it, a dotfile, an unknown type and a symlink out of `assets/`. */
function builtFixture(): WebFixture {
  const fx = webFixture({
    'index.html': INDEX,
    'favicon.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
    'assets/app-abc123.js': APP_JS,
    'assets/.hidden.js': SECRET,
    'assets/.env': SECRET,
    'assets/notes.txt': SECRET,
  });
  fs.writeFileSync(path.join(fx.root, 'outside.js'), SECRET);
  fs.symlinkSync(path.join(fx.root, 'outside.js'), path.join(fx.dir, 'assets', 'leak.js'));
  return fx;
}

describe('the built web client outside prod', () => {
  let fx: WebFixture;
  let t: TestServer | undefined;
  beforeAll(async () => {
    fx = builtFixture();
    t = await startTestServer({ env: { WEB_DIR: fx.dir } });
  });
  afterAll(async () => {
    await t?.close();
    fx.remove();
  });

  it('serves index.html at / and /index.html with the app CSP, no caching and the security headers', async () => {
    for (const p of ['/', '/index.html', '/?from=link']) {
      const res = await raw(t!.url, p);
      expect(res.status).toBe(200);
      expect(res.body).toBe(INDEX);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-security-policy']).toBe(APP_PAGE_CSP);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it('serves an asset with its type, a year of immutable caching and the app CSP (a worker script runs under it)', async () => {
    const res = await raw(t!.url, '/assets/app-abc123.js');
    expect(res.status).toBe(200);
    expect(res.body).toBe(APP_JS);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-security-policy']).toBe(APP_PAGE_CSP);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const icon = await raw(t!.url, '/favicon.svg');
    expect(icon.status).toBe(200);
    expect(icon.headers['content-type']).toBe('image/svg+xml');
  });

  it('answers HEAD with the headers and length but no body', async () => {
    for (const [p, length] of [
      ['/', INDEX.length],
      ['/assets/app-abc123.js', APP_JS.length],
    ] as const) {
      const res = await raw(t!.url, p, 'HEAD');
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe(String(length));
      expect(res.body).toBe('');
    }
  });

  it('refuses traversal, encoded slashes, dotfiles, unknown types and a symlink out of assets/ with a plain 404', async () => {
    const attempts = [
      '/assets/..%2F..%2Fpackage.json',
      '/assets/..%2f..%2foutside.js',
      '/assets/%2e%2e/outside.js',
      '/assets/../outside.js',
      '/assets/..',
      '/assets/sub%2Fapp-abc123.js',
      '/assets/app-abc123.js%00.png',
      '/assets/.env',
      '/assets/.hidden.js',
      '/assets/notes.txt',
      '/assets/leak.js',
      '/assets/missing-123.js',
      '/assets/',
      '/outside.js',
      '/favicon.ico',
    ];
    for (const p of attempts) {
      const res = await raw(t!.url, p);
      expect({ p, status: res.status }).toEqual({ p, status: 404 });
      expect(res.body).not.toContain(SECRET);
      expect(res.body).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack trace
    }
  });

  it('leaves everything else as it was: the API, ops routes and other methods', async () => {
    const health = await raw(t!.url, '/healthz');
    expect(health.status).toBe(200);
    const post = await raw(t!.url, '/', 'POST');
    expect(post.status).toBe(404);
    expect(post.body).not.toContain('fixture page');
  });
});

describe('the web client before it is built', () => {
  let fx: WebFixture;
  let t: TestServer | undefined;
  beforeAll(async () => {
    fx = webFixture();
    t = await startTestServer({ env: { WEB_DIR: fx.dir } });
  });
  afterAll(async () => {
    await t?.close();
    fx.remove();
  });

  it('answers / with a static page saying how to build it, then serves the build made while the server runs', async () => {
    const before = await raw(t!.url, '/');
    expect(before.status).toBe(200);
    expect(before.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(before.headers['content-security-policy']).toContain("default-src 'none'");
    expect(before.body).toContain('The web client is not built');
    expect(before.body).toContain('npm run web');
    expect(before.body).not.toMatch(/<script/i);
    expect((await raw(t!.url, '/assets/app-abc123.js')).status).toBe(404);

    fx.write('assets/app-abc123.js', APP_JS);
    fx.write('index.html', INDEX);
    const after = await raw(t!.url, '/');
    expect(after.body).toBe(INDEX);
    expect(after.headers['content-security-policy']).toBe(APP_PAGE_CSP);
    expect((await raw(t!.url, '/assets/app-abc123.js')).body).toBe(APP_JS);
  });
});

describe('the web client in prod', () => {
  let fx: WebFixture;
  let t: TestServer | undefined;
  beforeAll(async () => {
    fx = builtFixture();
    t = await startTestServer({
      env: { APP_ENV: 'prod', WEB_DIR: fx.dir, SECRET_KEY: randomBytes(48).toString('base64url'), CORS_ORIGINS: 'https://app.example.com' },
    });
  });
  afterAll(async () => {
    await t?.close();
    fx.remove();
  });

  it('is not served even when WEB_DIR holds a build: no pages in prod', async () => {
    for (const p of ['/', '/index.html', '/assets/app-abc123.js', '/favicon.svg']) {
      for (const method of ['GET', 'HEAD']) {
        const res = await raw(t!.url, p, method);
        expect({ p, method, status: res.status }).toEqual({ p, method, status: 404 });
        expect(res.body).not.toContain('fixture page');
        expect(res.headers['content-type'] ?? '').not.toContain('text/html');
      }
    }
  });
});
