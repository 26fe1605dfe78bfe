import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export interface StaticHost {
  origin: string;
  close(): Promise<void>;
}

/**
 * A static host for a built web client on an origin of its own, the way README's "hosting the
 * client elsewhere" describes: the files as they are, with the CSP it recommends (`csp`).
 * Serves only names inside `dir` (no traversal: the test controls every request anyway).
 */
export async function startStaticHost(dir: () => string, csp: () => string): Promise<StaticHost> {
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    const name = pathname === '/' ? 'index.html' : pathname.slice(1);
    const file = path.resolve(dir(), name);
    if (!file.startsWith(path.resolve(dir()) + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-security-policy': csp() });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
