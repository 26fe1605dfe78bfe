import { randomUUID } from 'node:crypto';
import type { Client } from 'graphql-ws';
import { bearer, registerUser, type Registered } from '../helpers/auth';
import { acknowledgedWs, assemble, authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { REDIS_SERVER, describeWith } from '../helpers/prereq';
import { startTwoInstances } from '../helpers/redis';
import { gql, seal, sql, useTestServer, type TestServer } from '../helpers/server';
import { wsClient } from '../helpers/ws';

const PROBE = 'probe';
const CHAT_EVENTS = `subscription { chatEvents { type conversationId conversation { id title } message { id role content status } } }`;

interface Seen {
  type: string;
  conversationId: string;
  conversation: { id: string; title: string } | null;
  message: { id: string; role: string; content: string; status: string } | null;
}

/** Follows chatEvents on `client`; `until(pred)` resolves with every event so far once one matches. */
function follow(client: Client) {
  const events: Seen[] = [];
  const waiters: { pred: (e: Seen) => boolean; resolve: (all: Seen[]) => void }[] = [];
  let failure: unknown;
  const stop = client.subscribe<{ chatEvents: Seen }>(
    { query: CHAT_EVENTS },
    {
      next: (r) => {
        if (r.errors) failure = r.errors;
        if (!r.data) return;
        events.push(r.data.chatEvents);
        for (const w of waiters.filter((w) => w.pred(r.data!.chatEvents))) w.resolve([...events]);
      },
      error: (err) => (failure = err),
      complete: () => undefined,
    },
  );
  return {
    events,
    stop,
    failure: () => failure,
    until: (pred: (e: Seen) => boolean) =>
      new Promise<Seen[]>((resolve) => {
        if (events.some(pred)) return resolve([...events]);
        waiters.push({ pred, resolve });
      }),
  };
}

/**
 * chatEvents once the server has registered it: graphql-ws does not acknowledge a subscription,
 * so probe conversations are created until one's event arrives; then the probes are forgotten
 * (a socket delivers one topic's events in order, so no earlier probe's event can follow).
 */
async function subscribed(client: Client, u: Registered, t: TestServer) {
  const f = follow(client);
  const live = f.until((e) => e.type === 'CONVERSATION_CREATED' && e.conversation?.title === PROBE);
  let up = false;
  void live.then(() => (up = true));
  while (!up) {
    await createConversation(t.graphqlUrl, u.accessToken, { title: PROBE });
    await Promise.race([live, new Promise((resolve) => setTimeout(resolve, 100))]);
  }
  f.events.length = 0;
  return f;
}

describe('chatEvents', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '5' } });

  it('a second client of the same user sees created, finished, updated and deleted events, resolved; another user sees none of them', async () => {
    const u = await registerUser(t.graphqlUrl);
    const stranger = await registerUser(t.graphqlUrl);
    const phone = authedWs(t.wsUrl, u.accessToken);
    const theirs = authedWs(t.wsUrl, stranger.accessToken);
    const onPhone = await subscribed(phone, u, t);
    const onTheirs = await subscribed(theirs, stranger, t);

    // The "laptop" works over HTTP and its own socket.
    const conv = await createConversation(t.graphqlUrl, u.accessToken, { title: 'synced' });
    const { userMessage, assistantMessage } = (await sendMessage(t.graphqlUrl, u.accessToken, conv, 'hello phone')).body.data.sendMessage;
    const laptop = authedWs(t.wsUrl, u.accessToken);
    expect(assemble(await streamReply(laptop, assistantMessage.id))).toBe('Echo: hello phone');
    const finished = await onPhone.until((e) => e.type === 'MESSAGE_FINISHED');
    expect(finished).toEqual([
      { type: 'CONVERSATION_CREATED', conversationId: conv, conversation: { id: conv, title: 'synced' }, message: null },
      expect.objectContaining({ type: 'MESSAGE_CREATED', conversationId: conv, message: expect.objectContaining({ id: userMessage.id, role: 'USER' }) }),
      expect.objectContaining({ type: 'MESSAGE_CREATED', conversationId: conv, message: expect.objectContaining({ id: assistantMessage.id }) }),
      expect.objectContaining({
        type: 'MESSAGE_FINISHED',
        conversation: { id: conv, title: 'synced' },
        message: { id: assistantMessage.id, role: 'ASSISTANT', content: 'Echo: hello phone', status: 'COMPLETE' },
      }),
    ]);

    const regen = await gql(
      t.graphqlUrl,
      'mutation R($id: ID!) { regenerateReply(messageId: $id) { assistantMessage { id } } }',
      { id: assistantMessage.id },
      bearer(u.accessToken),
    );
    const newReply = regen.body.data.regenerateReply.assistantMessage.id;
    await streamReply(laptop, newReply);
    const afterRegen = await onPhone.until((e) => e.type === 'MESSAGE_FINISHED' && e.message?.id === newReply);
    expect(afterRegen.slice(4).map((e) => e.type)).toEqual(['CONVERSATION_UPDATED', 'MESSAGE_CREATED', 'MESSAGE_FINISHED']);

    await gql(t.graphqlUrl, 'mutation D($id: ID!) { deleteConversation(id: $id) }', { id: conv }, bearer(u.accessToken));
    const deleted = await onPhone.until((e) => e.type === 'CONVERSATION_DELETED');
    expect(deleted[deleted.length - 1]).toEqual({ type: 'CONVERSATION_DELETED', conversationId: conv, conversation: null, message: null });

    // The stranger's own next event is the first they see: nothing of the other user's reached them.
    const own = await createConversation(t.graphqlUrl, stranger.accessToken);
    expect(await onTheirs.until((e) => e.conversationId === own)).toEqual([expect.objectContaining({ type: 'CONVERSATION_CREATED', conversationId: own })]);
    expect(onPhone.failure()).toBeUndefined();
    await Promise.all([phone.dispose(), theirs.dispose(), laptop.dispose()]);
  });

  it('needs a signed-in caller, and ends with the socket when the session is revoked', async () => {
    const anonymous = wsClient(t.wsUrl);
    await expect(
      new Promise((resolve, reject) =>
        anonymous.subscribe({ query: CHAT_EVENTS }, { next: (r) => (r.errors ? reject(r.errors) : resolve(r)), error: reject, complete: () => resolve(null) }),
      ),
    ).rejects.toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })]);
    await anonymous.dispose();

    const u = await registerUser(t.graphqlUrl);
    const { client, closed } = await acknowledgedWs(t.wsUrl, u.accessToken);
    await subscribed(client, u, t);
    await gql(t.graphqlUrl, 'mutation { logout }', undefined, bearer(u.accessToken));
    expect(await closed).toBe(4403);
    await client.dispose();
  });
});

describe('chatEvents for a reply whose process died', () => {
  const t = useTestServer({ env: { GENERATION_STALE_SECONDS: '2' } });

  it('announces MESSAGE_FINISHED when the sweep marks it INTERRUPTED', async () => {
    const u = await registerUser(t.graphqlUrl);
    const client = authedWs(t.wsUrl, u.accessToken);
    const events = await subscribed(client, u, t);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    // What a killed instance leaves behind: a STREAMING reply whose heartbeat stopped long ago.
    const orphan = randomUUID();
    const [row] = await sql(
      t,
      `insert into message (id, conversation_id, role, content, status, created_at, instance_id, heartbeat_at)
       values (?, ?, 'ASSISTANT', ?, 'STREAMING', now(), 'gone', now() - interval '1 hour') returning id`,
      [orphan, conv, await seal(t, u.userId, 'message.content', orphan, 'partial')],
    );
    const seen = await events.until((e) => e.type === 'MESSAGE_FINISHED');
    expect(seen[seen.length - 1]).toEqual({
      type: 'MESSAGE_FINISHED',
      conversationId: conv,
      conversation: expect.objectContaining({ id: conv }),
      message: { id: row.id, role: 'ASSISTANT', content: 'partial', status: 'INTERRUPTED' },
    });
    await client.dispose();
  });
});

describeWith([REDIS_SERVER], 'chatEvents across two instances sharing Redis', () => {
  let pair: Awaited<ReturnType<typeof startTwoInstances>>;
  beforeAll(async () => {
    pair = await startTwoInstances({ ECHO_TOKEN_DELAY_MS: '5' });
  });
  afterAll(async () => {
    await pair?.close();
  });

  it('a client on B sees the conversation, message and reply events of work done on A', async () => {
    const { a, b } = pair;
    const u = await registerUser(a.graphqlUrl);
    const onB = authedWs(b.wsUrl, u.accessToken);
    const events = await subscribed(onB, u, a);
    const conv = await createConversation(a.graphqlUrl, u.accessToken);
    const { assistantMessage } = (await sendMessage(a.graphqlUrl, u.accessToken, conv, 'across')).body.data.sendMessage;
    const seen = await events.until((e) => e.type === 'MESSAGE_FINISHED');
    expect(seen.map((e) => e.type)).toEqual(['CONVERSATION_CREATED', 'MESSAGE_CREATED', 'MESSAGE_CREATED', 'MESSAGE_FINISHED']);
    expect(seen[3].message).toEqual({ id: assistantMessage.id, role: 'ASSISTANT', content: 'Echo: across', status: 'COMPLETE' });
    await onB.dispose();
  });
});
