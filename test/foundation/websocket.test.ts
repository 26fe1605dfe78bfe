import WebSocket from 'ws';
import { FixtureResolver } from '../helpers/fixture.resolver';
import { startTestServer, type TestServer } from '../helpers/server';
import { wsClient, wsRun } from '../helpers/ws';

async function openGauge(t: TestServer): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  return Number(/^parley_websocket_connections_open (\d+)/m.exec(text)![1]);
}

describe('graphql-ws on the same server and path', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ extraResolvers: [FixtureResolver] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('runs an operation over WebSocket and logs connect, subscribe, complete and close', async () => {
    const client = wsClient(t.wsUrl);
    const results = await wsRun<{ data: { models: { id: string }[] } }>(client, 'query WsModels { models { id } }');
    // issue 9 item 6: every result reports the caller's cost budget.
    expect(results).toEqual([
      { data: { models: [{ id: 'echo' }] }, extensions: { cost: expect.objectContaining({ requested: expect.any(Number), remaining: expect.any(Number) }) } },
    ]);
    expect(await openGauge(t)).toBe(1);
    await client.dispose();

    const subscribe = await t.logs.waitFor((l) => l.message === 'ws subscribe' && l.operationName === 'WsModels');
    const connectionId = subscribe.connectionId;
    await t.logs.waitFor((l) => l.message === 'ws connect' && l.connectionId === connectionId);
    await t.logs.waitFor((l) => l.message === 'ws complete' && l.connectionId === connectionId);
    await t.logs.waitFor((l) => l.message === 'ws close' && l.connectionId === connectionId);
    expect(await openGauge(t)).toBe(0);
  });

  it('reports validation errors with their code', async () => {
    const client = wsClient(t.wsUrl);
    await expect(wsRun(client, '{ nope }')).rejects.toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) }),
    ]);
    await client.dispose();
  });

  it('masks unexpected errors with a request id and no stack', async () => {
    const client = wsClient(t.wsUrl);
    const [result] = await wsRun<{ errors: { message: string; extensions: Record<string, unknown> }[] }>(client, '{ fixtureExplode }');
    expect(result.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(result.errors[0].extensions.requestId).toEqual(expect.any(String));
    expect(result.errors[0].extensions.stacktrace).toBeUndefined();
    await client.dispose();
  });

  it('closes a socket that sends a 1 MB message (1009, message too big)', async () => {
    const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(1024 * 1024) } }));
    expect(await closed).toBe(1009);
  });

  it('refuses a socket on another path', async () => {
    const socket = new WebSocket(t.wsUrl.replace('/graphql', '/other'), 'graphql-transport-ws');
    const status = await new Promise<number>((resolve) =>
      socket.once('unexpected-response', (_req, res) => resolve(res.statusCode!)).once('error', () => resolve(-1)),
    );
    expect(status).not.toBe(101);
  });
});
