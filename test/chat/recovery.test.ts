import pg from 'pg';
import { bearer, registerUser } from '../helpers/auth';
import { authedWs, createConversation, sendMessage, streamReply, streamedPast } from '../helpers/chat';
import { spawnServer, type ServerProcess } from '../helpers/process';
import { createTestDatabase, gql } from '../helpers/server';

describe('crash recovery', () => {
  const procs: ServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
  });

  it('a reply under way when its process is killed is INTERRUPTED after restart, never STREAMING forever', async () => {
    const db = await createTestDatabase();
    const env = {
      APP_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      SECRET_KEY: 'x'.repeat(8) + 'recovery-test-secret-key-0123456789',
      CAPTCHA_DIFFICULTY: '1000',
      ECHO_TOKEN_DELAY_MS: '100',
      GENERATION_STALE_SECONDS: '2',
    };
    const first = spawnServer(env);
    procs.push(first);
    const url = `${(await first.waitFor((l) => l.message === 'ready')).url}/graphql`;
    const u = await registerUser(url);
    const conv = await createConversation(url, u.accessToken);
    const text = Array.from({ length: 50 }, (_, i) => `w${i}`).join(' ');
    const { assistantMessage } = (await sendMessage(url, u.accessToken, conv, text)).body.data.sendMessage;
    let seen = 0;
    const client = authedWs(url.replace('http', 'ws'), u.accessToken);
    await new Promise<void>((resolve) => {
      void streamReply(client, assistantMessage.id, 0, () => {
        if (++seen === 5) resolve();
      }).catch(() => undefined);
    });
    first.child.kill('SIGKILL');
    await first.exited;
    await Promise.resolve(client.dispose()).catch(() => undefined);

    const second = spawnServer(env);
    procs.push(second);
    const url2 = `${(await second.waitFor((l) => l.message === 'ready')).url}/graphql`;
    const status = async () => {
      const r = await gql(
        url2,
        'query Q($id: ID!) { conversation(id: $id) { messages { edges { node { id status content finishReason errorCode } } } } }',
        { id: conv },
        bearer(u.accessToken),
      );
      return r.body.data.conversation.messages.edges.map((e: any) => e.node).find((n: any) => n.id === assistantMessage.id);
    };
    const deadline = Date.now() + 15_000;
    let m = await status();
    while (m.status === 'STREAMING' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      m = await status();
    }
    expect(m.status).toBe('INTERRUPTED');
    expect(m).toMatchObject({ finishReason: 'INTERRUPTED', errorCode: 'INTERRUPTED' });
    expect(`Echo: ${text}`.startsWith(m.content)).toBe(true);
    // A subscriber joining now gets what was saved and the final event.
    const c2 = authedWs(url2.replace('http', 'ws'), u.accessToken);
    const events = await streamReply(c2, assistantMessage.id);
    await c2.dispose();
    expect(events[events.length - 1]).toMatchObject({ done: true, status: 'INTERRUPTED' });
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    await db.drop();
  });

  it('a graceful stop ends replies still streaming as INTERRUPTED, saved', async () => {
    const db = await createTestDatabase();
    const env = {
      APP_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      SECRET_KEY: 'graceful-stop-secret-key-0123456789abcdef',
      CAPTCHA_DIFFICULTY: '1000',
      ECHO_TOKEN_DELAY_MS: '100',
    };
    const proc = spawnServer(env);
    procs.push(proc);
    const url = `${(await proc.waitFor((l) => l.message === 'ready')).url}/graphql`;
    const u = await registerUser(url);
    const conv = await createConversation(url, u.accessToken);
    const { assistantMessage } = (await sendMessage(url, u.accessToken, conv, Array.from({ length: 50 }, (_, i) => `w${i}`).join(' '))).body.data.sendMessage;
    const client = authedWs(url.replace('http', 'ws'), u.accessToken);
    await streamedPast(client, assistantMessage.id); // stop once some of the reply was generated
    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
    await Promise.resolve(client.dispose()).catch(() => undefined);
    const pgClient = new pg.Client({ connectionString: db.url });
    await pgClient.connect();
    const { rows } = await pgClient.query('select status, content, finish_reason, error_code from message where id = $1', [assistantMessage.id]);
    await pgClient.end();
    expect(rows[0].status).toBe('INTERRUPTED');
    expect(rows[0]).toMatchObject({ finish_reason: 'INTERRUPTED', error_code: 'INTERRUPTED' });
    expect(rows[0].content.length).toBeGreaterThan(0);
    await db.drop();
  });
});
