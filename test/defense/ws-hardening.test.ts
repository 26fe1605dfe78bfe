import WebSocket from 'ws';
import { SlowFixtureResolver } from '../helpers/fixture.resolver';
import { useTestServer } from '../helpers/server';

/** Resolves with the HTTP status of a refused upgrade, or 101 when the socket opened. */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<{ status: number; socket: WebSocket }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { headers });
    socket.once('open', () => resolve({ status: 101, socket }));
    socket.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode!, socket }));
    socket.once('error', () => undefined);
  });
}

function initialised(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.once('message', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Collects the first `error` or `next` message for each operation id. */
function firstResults(socket: WebSocket): Map<string, { type: string; payload: any }> {
  const results = new Map<string, { type: string; payload: any }>();
  socket.on('message', (m) => {
    const msg = JSON.parse(String(m));
    if (msg.id && !results.has(msg.id) && (msg.type === 'next' || msg.type === 'error')) results.set(msg.id, msg);
  });
  return results;
}

async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('WebSocket hardening', () => {
  const t = useTestServer({
    env: { CORS_ORIGINS: 'https://app.example.com', WS_MAX_CONNECTIONS_PER_IP: '3', WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2', RATE_LIMIT_WS_SUBSCRIBE: '5/60' },
    extraResolvers: [SlowFixtureResolver],
  });

  it('refuses a foreign Origin with 403 before the handshake, and accepts a listed one or none', async () => {
    const foreign = await upgradeStatus(t.wsUrl, { origin: 'https://evil.example.net' });
    expect(foreign.status).toBe(403);
    const listed = await upgradeStatus(t.wsUrl, { origin: 'https://app.example.com' });
    expect(listed.status).toBe(101);
    listed.socket.close();
    const none = await upgradeStatus(t.wsUrl);
    expect(none.status).toBe(101);
    none.socket.close();
    await t.logs.waitFor((l) => l.message === 'ws upgrade refused' && l.status === 403);
  });

  it('caps connections per IP (429 past the cap) and frees the slot on close', async () => {
    const open = await Promise.all([0, 1, 2].map(() => upgradeStatus(t.wsUrl)));
    expect(open.map((o) => o.status)).toEqual([101, 101, 101]);
    expect((await upgradeStatus(t.wsUrl)).status).toBe(429);
    // The server frees the slot in its close handler, before it logs `ws close`.
    const serverClosed = (n: number) => t.logs.waitFor(() => t.logs.lines.filter((l) => l.message === 'ws close').length >= n);
    const before = t.logs.lines.filter((l) => l.message === 'ws close').length;
    open[0].socket.close();
    await serverClosed(before + 1);
    const again = await upgradeStatus(t.wsUrl);
    expect(again.status).toBe(101);
    for (const o of [open[1], open[2], again]) o.socket.close();
    await serverClosed(before + 4);
  });

  it('caps operations running at once on one connection', async () => {
    const socket = await initialised(t.wsUrl);
    const results = firstResults(socket);
    for (const id of ['1', '2', '3']) socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: '{ fixtureSlow(ms: 400) }' } }));
    await until(() => results.size === 3);
    expect(results.get('3')!.type).toBe('error');
    expect(results.get('3')!.payload[0].extensions.code).toBe('RATE_LIMITED');
    expect(results.get('1')!.payload.data.fixtureSlow).toBe('finished');
    socket.close();
  });

  it('rate-limits subscribe messages per connection', async () => {
    const socket = await initialised(t.wsUrl);
    const results = firstResults(socket);
    for (let i = 1; i <= 6; i++) {
      socket.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: '{ __typename }' } }));
      await until(() => results.size === i); // one at a time: only the rate, not the concurrency cap, applies
    }
    const errors = [...results.entries()].filter(([, r]) => r.type === 'error');
    expect(errors.map(([id, r]) => [id, r.payload[0].extensions.code])).toEqual([['6', 'RATE_LIMITED']]);
    expect(errors[0][1].payload[0].message).toMatch(/slow down/);
    socket.close();
  });

  it('closes a socket that does not initialise within 3 s (4408)', async () => {
    const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws');
    const code = await new Promise<number>((resolve) => socket.once('close', (c) => resolve(c)));
    expect(code).toBe(4408);
  });
});
