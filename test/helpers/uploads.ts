import http from 'node:http';
import { bearer } from './auth';

/** POSTs one file as a browser's FormData would; returns the status and JSON body. */
export async function upload(baseUrl: string, token: string | undefined, bytes: Buffer, filename: string, type = 'application/octet-stream') {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type }), filename);
  const res = await fetch(`${baseUrl}/attachments`, { method: 'POST', body: form, headers: token ? bearer(token) : {} });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

/**
 * A multipart upload sent by hand, in parts, as a slow or hostile client would: `send` writes
 * more of the file, `finish` writes the rest and the closing boundary and resolves with the
 * answer. `disposition` is the part's raw Content-Disposition parameters after `form-data`.
 */
export function rawUpload(baseUrl: string, token: string, disposition = 'name="file"; filename="slow.txt"') {
  const boundary = `----parley${Math.random().toString(16).slice(2)}`;
  const url = new URL(`${baseUrl}/attachments`);
  const req = http.request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'POST',
    headers: { ...bearer(token), 'content-type': `multipart/form-data; boundary=${boundary}` },
  });
  const answer = new Promise<{ status: number; body: any }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
  });
  req.write(`--${boundary}\r\nContent-Disposition: form-data; ${disposition}\r\nContent-Type: application/octet-stream\r\n\r\n`);
  return {
    send(bytes: Buffer) {
      req.write(bytes);
    },
    /** Goes away mid-body, as a dropped connection would. */
    abort() {
      answer.catch(() => undefined);
      req.destroy();
    },
    finish(bytes: Buffer = Buffer.alloc(0)) {
      req.end(Buffer.concat([bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]));
      return answer;
    },
  };
}

/** Polls `check` (a database or HTTP probe) until it returns true; the event, not a fixed sleep. */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
