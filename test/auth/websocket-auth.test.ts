import WebSocket from 'ws';
import { gql, startTestServer, useTestServer } from '../helpers/server';
import { bearer, registerUser } from '../helpers/auth';

/** Opens a raw graphql-transport-ws socket and sends connection_init; resolves with what happened first. */
function connect(url: string, payload?: Record<string, unknown>): Promise<{ socket: WebSocket; acked: boolean; closeCode?: number; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    const closed = new Promise<number>((r) => socket.once('close', (code) => r(code)));
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
    socket.once('message', (m) => {
      const msg = JSON.parse(String(m));
      resolve({ socket, acked: msg.type === 'connection_ack', closed });
    });
    socket.once('close', (code) => resolve({ socket, acked: false, closeCode: code, closed }));
    socket.once('error', reject);
  });
}

/** Runs one operation on an open socket and returns its first result payload. */
function run(socket: WebSocket, id: string, query: string): Promise<any> {
  return new Promise((resolve) => {
    const onMessage = (m: WebSocket.RawData) => {
      const msg = JSON.parse(String(m));
      if (msg.id === id && (msg.type === 'next' || msg.type === 'error')) {
        socket.off('message', onMessage);
        resolve(msg.type === 'next' ? msg.payload : { errors: msg.payload });
      }
    };
    socket.on('message', onMessage);
    socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query } }));
  });
}

describe('WebSocket authentication', () => {
  const t = useTestServer();

  it.each([
    ['garbage', 'Bearer not-a-jwt'],
    ['no Bearer prefix', 'abc'],
    ['a non-string', 42],
  ])('closes a socket presenting %s with 4403', async (_name, authorization) => {
    const r = await connect(t.wsUrl, { authorization });
    expect(r.acked).toBe(false);
    expect(r.closeCode).toBe(4403);
  });

  it('lets a socket without a token connect, but answers user-only operations UNAUTHENTICATED', async () => {
    const r = await connect(t.wsUrl);
    expect(r.acked).toBe(true);
    const result = await run(r.socket, '1', '{ me { id } }');
    expect(result.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    r.socket.close();
  });

  it('authenticates once from connectionParams.authorization', async () => {
    const u = await registerUser(t.graphqlUrl);
    const r = await connect(t.wsUrl, { authorization: `Bearer ${u.accessToken}` });
    expect(r.acked).toBe(true);
    const result = await run(r.socket, '1', '{ me { id } }');
    expect(result.data.me.id).toBe(u.userId);
    r.socket.close();
  });

  it('closes an open socket with 4403 the moment its session is revoked', async () => {
    const u = await registerUser(t.graphqlUrl);
    const r = await connect(t.wsUrl, { authorization: `Bearer ${u.accessToken}` });
    expect(r.acked).toBe(true);
    await gql(t.graphqlUrl, 'mutation { logout }', undefined, bearer(u.accessToken));
    expect(await r.closed).toBe(4403);
    // And reconnecting with that token is refused.
    expect((await connect(t.wsUrl, { authorization: `Bearer ${u.accessToken}` })).closeCode).toBe(4403);
  });
});

describe('WebSocket token expiry', () => {
  it('closes the socket with 4403 when the access token expires', async () => {
    const t = await startTestServer({ env: { ACCESS_TOKEN_TTL: '2' } });
    try {
      const u = await registerUser(t.graphqlUrl);
      const r = await connect(t.wsUrl, { authorization: `Bearer ${u.accessToken}` });
      expect(r.acked).toBe(true);
      expect(await r.closed).toBe(4403);
      await t.logs.waitFor((l) => l.message === 'ws close' && l.code === 4403);
    } finally {
      await t.close();
    }
  });
});
