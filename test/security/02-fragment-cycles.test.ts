import WebSocket from 'ws';
import { spawnServer, type ServerProcess } from '../helpers/process';
import { createTestDatabase } from '../helpers/server';

/**
 * Issue 9 item 2: a fragment cycle or an unknown fragment crashed graphql-depth-limit inside
 * validation: 500 INTERNAL_SERVER_ERROR and a stack trace on stderr per request. Now graphql-js's
 * own rules answer them, on both transports, and the process writes nothing to stderr (Apollo
 * logs through winston, and no library prints to the console).
 */
const ATTACKS = [
  ['a fragment cycle', 'query { ...A } fragment A on Query { ...A }', /Cannot spread fragment "A" within itself/],
  ['a cycle through two fragments', 'query { ...A } fragment A on Query { ...B } fragment B on Query { __typename ...A }', /within itself/],
  ['an unknown fragment', 'query { ...Nope }', /Unknown fragment "Nope"/],
] as const;

/** One operation over a raw graphql-ws socket: the server's first answer to `subscribe`. */
async function wsAnswer(url: string, query: string): Promise<{ type: string; payload: any }> {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  try {
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const messages: { type: string; payload: any }[] = [];
    const answered = new Promise<{ type: string; payload: any }>((resolve) =>
      socket.on('message', (raw) => {
        const msg = JSON.parse(raw.toString()) as { type: string; payload: any };
        messages.push(msg);
        if (msg.type === 'connection_ack') socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
        else resolve(msg);
      }),
    );
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    return await answered;
  } finally {
    socket.close();
  }
}

describe('fragment cycles and unknown fragments, against the compiled server process', () => {
  let child: ServerProcess | undefined;
  let base = '';
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    child = spawnServer({
      APP_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      SECRET_KEY: 'cycles-test-secret-key-0123456789abcdef0123',
      CAPTCHA_DIFFICULTY: '1000',
      RATE_LIMIT_SCALE: '100',
    });
    base = (await child.waitFor((l) => l.message === 'ready')).url as string;
  });
  afterAll(async () => {
    await child?.kill();
    await drop?.();
  });

  it.each(ATTACKS)('HTTP: %s is 400 GRAPHQL_VALIDATION_FAILED', async (_name, query, message) => {
    const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    const body = (await res.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(res.status).toBe(400);
    expect(body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(body.errors.map((e) => e.message).join('\n')).toMatch(message);
    expect(JSON.stringify(body)).not.toMatch(/stacktrace|RangeError|TypeError|node_modules/);
  });

  it.each(ATTACKS)('WebSocket: %s is an `error` message', async (_name, query, message) => {
    const answer = await wsAnswer(`${base.replace(/^http/, 'ws')}/graphql`, query);
    expect(answer.type).toBe('error');
    expect(answer.payload[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(answer.payload.map((e: { message: string }) => e.message).join('\n')).toMatch(message);
  });

  it('wrote nothing to stderr, and still serves', async () => {
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    child!.child.kill('SIGTERM');
    expect((await child!.exited).code).toBe(0); // every stderr byte is in by now
    expect(child!.stderr()).toBe('');
  });
});
