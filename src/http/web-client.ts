import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * The Content-Security-Policy of the app's page and its assets (the API keeps the strict
 * `default-src 'none'`; a worker built into `assets/` runs under its own response's policy, so
 * the assets carry the page's): the bundle's own scripts, styles, fonts and images, `data:`
 * images (the captcha widget's icons), workers from its own files (the captcha solver), and same-origin
 * `fetch` and WebSocket (Chrome's `'self'` includes same-host ws:/wss:). No inline script, no
 * eval, no other origin: a reply that smuggled markup into the DOM still could not run script.
 */
export const APP_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
  "worker-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** The only types served from `assets/`; anything else is a 404, so nothing is guessed or sniffed. */
const ASSET_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

/**
 * An asset's name as Vite writes it. Checked on the raw path, never decoded: these characters need
 * no escaping, so `%2F`, `..%2F` and the like fail here instead of after a decode.
 */
const ASSET_NAME = /^[A-Za-z0-9._-]+$/;

/** Hashed file names never change content, so a browser may keep them for a year. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** What `/` answers when the client is not built: static, no script, nothing taken from the request. */
const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Parley: web client not built</title></head>
<body>
<h1>Parley</h1>
<p>The web client is not built: run <code>npm run web</code> (it builds <code>web/</code> into
<code>web/dist</code> and serves it here), or <code>npm run web:build</code> with this server running.</p>
<p>The GraphQL API is at <a href="/graphql">/graphql</a>. This page is served outside <code>APP_ENV=prod</code> only.</p>
</body>
</html>
`;

/** Whether `name` is one file directly in `assets/` of a known type: no separators, no dotfiles, no `..`. */
function assetType(name: string): string | undefined {
  if (!ASSET_NAME.test(name) || name.startsWith('.')) return undefined;
  return ASSET_TYPES[path.extname(name).toLowerCase()];
}

/**
 * Streams a regular file with `headers`, or resolves false when there is none to send. O_NOFOLLOW
 * refuses a symlink in the last component (the only one a request names), so a link planted in
 * `assets/` cannot reach outside it; directories and devices are refused after the open.
 */
async function sendFile(req: Request, res: Response, file: string, headers: Record<string, string>): Promise<boolean> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return false;
  }
  const stat = await handle.stat().catch(() => undefined);
  if (!stat?.isFile()) {
    await handle.close();
    return false;
  }
  res.status(200).set({ ...headers, 'Content-Length': String(stat.size) });
  if (req.method === 'HEAD') {
    await handle.close();
    res.end();
    return true;
  }
  // A read error midway can only cut the response short (the headers are sent): no stack, no 500 body.
  pipeline(handle.createReadStream(), res, () => undefined);
  return true;
}

/** The page: no caching (a rebuild shows at once) and the app's CSP instead of the API's. */
function sendIndex(req: Request, res: Response, webDir: string): Promise<boolean> {
  return sendFile(req, res, path.join(webDir, 'index.html'), {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': APP_PAGE_CSP,
  });
}

/** Routes one GET or HEAD to the page, an asset or the favicon; false when it is none of them or missing. */
async function serve(req: Request, res: Response, webDir: string): Promise<boolean> {
  const p = req.path;
  if (p === '/' || p === '/index.html') {
    if (await sendIndex(req, res, webDir)) return true;
    res.status(200).set({ 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).send(NOT_BUILT_PAGE);
    return true;
  }
  if (p === '/favicon.svg') return sendFile(req, res, path.join(webDir, 'favicon.svg'), { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'no-cache' });
  if (!p.startsWith('/assets/')) return false;
  const name = p.slice('/assets/'.length);
  const type = assetType(name);
  if (!type) return false;
  return sendFile(req, res, path.join(webDir, 'assets', name), { 'Content-Type': type, 'Cache-Control': IMMUTABLE, 'Content-Security-Policy': APP_PAGE_CSP });
}

/**
 * Outside prod only (server.ts mounts it then): the built reference client from `webDir`, looked
 * up on every request so building it while the server runs makes it appear without a restart.
 * `/` and `/index.html` are the page (the app routes by hash, so no other path is a page),
 * `/assets/<name>` its hashed files, `/favicon.svg` its icon. Anything missing goes on to the
 * usual 404; with no build, `/` says how to make one.
 */
export function webClient(webDir: string): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    serve(req, res, webDir).then(
      (served) => served || next(),
      (err: unknown) => next(err),
    );
  };
}
