import { bearer, registerUser } from '../helpers/auth';
import { MESSAGE_FIELDS, acknowledgedWs, assemble, authedWs, createConversation, sendMessage, streamReply, streamedPast } from '../helpers/chat';
import { REDIS_SERVER, describeWith } from '../helpers/prereq';
import { startTwoInstances } from '../helpers/redis';
import { gql, sql, unseal, type TestServer } from '../helpers/server';

const LONG = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');

/** Resolves once the instance's pub/sub says Redis is unreachable (false) or delivering again (true). */
function linkBecomes(t: TestServer, up: boolean): Promise<void> {
  return new Promise((resolve) => {
    const off = t.server.services.pubsub.onLink((now) => {
      if (now !== up) return;
      off();
      resolve();
    });
  });
}

function createKey(t: TestServer, token: string) {
  return gql(t.graphqlUrl, 'mutation { createApiKey(name: "outage") { apiKey { id } } }', undefined, bearer(token));
}

async function ready(t: TestServer): Promise<number> {
  return (await fetch(`${t.url}/readyz`)).status;
}

describeWith([REDIS_SERVER], 'Redis stopped and started again under two instances', () => {
  let pair: Awaited<ReturnType<typeof startTwoInstances>>;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    pair = await startTwoInstances({ ECHO_TOKEN_DELAY_MS: '20', RATE_LIMIT_SCALE: '1', RATE_LIMIT_API_KEY: '2/3600' });
    ({ a, b } = pair);
  });
  afterAll(async () => {
    await pair?.close();
  });

  describe('while Redis is down', () => {
    beforeAll(async () => {
      const down = Promise.all([linkBecomes(a, false), linkBecomes(b, false)]);
      await pair.stopRedis();
      await down;
    });

    it('both instances stay ready and serve requests', async () => {
      expect(await ready(a)).toBe(200);
      expect(await ready(b)).toBe(200);
      const u = await registerUser(b.graphqlUrl);
      expect((await gql(a.graphqlUrl, '{ me { id } }', undefined, bearer(u.accessToken))).body.data.me.id).toBe(u.userId);
    });

    it('a logout on A still closes the socket on B (its notice is lost; B re-checks its sessions) and B refuses the token', async () => {
      const u = await registerUser(a.graphqlUrl);
      expect((await gql(b.graphqlUrl, '{ me { id } }', undefined, bearer(u.accessToken))).body.data.me.id).toBe(u.userId);
      const { client, closed } = await acknowledgedWs(b.wsUrl, u.accessToken);
      await gql(a.graphqlUrl, 'mutation { logout }', undefined, bearer(u.accessToken));
      expect(await closed).toBe(4403);
      expect((await gql(b.graphqlUrl, '{ me { id } }', undefined, bearer(u.accessToken))).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      await client.dispose();
    });

    it('rate limits hold per instance: each counts on its own (fail closed locally, not shared)', async () => {
      const u = await registerUser(a.graphqlUrl);
      expect((await createKey(a, u.accessToken)).body.errors).toBeUndefined();
      expect((await createKey(a, u.accessToken)).body.errors).toBeUndefined();
      expect((await createKey(a, u.accessToken)).body.errors[0].extensions.code).toBe('RATE_LIMITED');
      // B cannot see A's count while Redis is down: its own in-memory limiter starts from zero.
      expect((await createKey(b, u.accessToken)).body.errors).toBeUndefined();
    });

    it('a reply streamed meanwhile still ends, its deltas equal to the stored text', async () => {
      const u = await registerUser(a.graphqlUrl);
      const conv = await createConversation(a.graphqlUrl, u.accessToken);
      const { assistantMessage } = (await sendMessage(a.graphqlUrl, u.accessToken, conv, 'during the outage')).body.data.sendMessage;
      const ws = authedWs(b.wsUrl, u.accessToken);
      const events = await streamReply(ws, assistantMessage.id);
      await ws.dispose();
      const [row] = await sql(a, 'select content, status from message where id = ?', [assistantMessage.id]);
      row.content = await unseal(a, 'message.content', assistantMessage.id, row.content);
      expect(row.status).toBe('COMPLETE');
      expect(assemble(events)).toBe(row.content);
      expect(row.content).toBe('Echo: during the outage');
    });
  });

  describe('after Redis is back on the same port', () => {
    beforeAll(async () => {
      const up = Promise.all([linkBecomes(a, true), linkBecomes(b, true)]);
      await pair.restartRedis();
      await up;
    });

    it('a subscriber on A receives, delta by delta, a reply generated on B', async () => {
      const u = await registerUser(b.graphqlUrl);
      const conv = await createConversation(b.graphqlUrl, u.accessToken);
      const { assistantMessage } = (await sendMessage(b.graphqlUrl, u.accessToken, conv, LONG)).body.data.sendMessage;
      const onA = authedWs(a.wsUrl, u.accessToken);
      const events = await streamReply(onA, assistantMessage.id);
      await onA.dispose();
      expect(assemble(events)).toBe(`Echo: ${LONG}`);
      expect(events.length).toBeGreaterThan(2); // live deltas, not only a stored replay
      expect(events[events.length - 1]).toMatchObject({ done: true, status: 'COMPLETE' });
    });

    it('a cancel sent to B stops the generation running on A', async () => {
      const u = await registerUser(a.graphqlUrl);
      const conv = await createConversation(a.graphqlUrl, u.accessToken);
      const { assistantMessage } = (await sendMessage(a.graphqlUrl, u.accessToken, conv, LONG)).body.data.sendMessage;
      const watcher = authedWs(a.wsUrl, u.accessToken);
      await streamedPast(watcher, assistantMessage.id);
      const res = await gql(
        b.graphqlUrl,
        `mutation C($id: ID!) { cancelGeneration(messageId: $id) { ${MESSAGE_FIELDS} } }`,
        { id: assistantMessage.id },
        bearer(u.accessToken),
      );
      expect(res.body.data.cancelGeneration.status).toBe('CANCELLED');
      expect(res.body.data.cancelGeneration.content.length).toBeLessThan(`Echo: ${LONG}`.length);
      expect(a.server.services.runner.size).toBe(0);
      await watcher.dispose();
    });

    it('a logout on A closes the socket on B', async () => {
      const u = await registerUser(a.graphqlUrl);
      const { client, closed } = await acknowledgedWs(b.wsUrl, u.accessToken);
      await gql(a.graphqlUrl, 'mutation { logout }', undefined, bearer(u.accessToken));
      expect(await closed).toBe(4403);
      await client.dispose();
    });

    it('rate limits are shared again: two keys on A use up the limit on B', async () => {
      const u = await registerUser(a.graphqlUrl);
      expect((await createKey(a, u.accessToken)).body.errors).toBeUndefined();
      expect((await createKey(a, u.accessToken)).body.errors).toBeUndefined();
      expect((await createKey(b, u.accessToken)).body.errors[0].extensions.code).toBe('RATE_LIMITED');
    });
  });
});
