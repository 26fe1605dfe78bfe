import { parse, type GraphQLSchema } from 'graphql';
import { buildAppSchema } from '../../src/schema';
import { PLAIN_SUBSCRIPTIONS } from '../../src/chat/stream';
import { planPlainSubscription } from '../../src/graphql/plain-subscriptions';
import { bearer, registerUser } from '../helpers/auth';
import { assemble, authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { gql, useTestServer } from '../helpers/server';
import { wsRun } from '../helpers/ws';

// messageStream events of a known shape are built by hand (no per-event execution); these tests
// pin that such a document answers exactly what GraphQL's full execution answers for it. The
// "full" twin of each document is the same document with `@include(if: true)` on one field:
// the same meaning by the spec, but a directive, so the server executes it in full.
const FIELDS = `__typename id: messageId at: offset text: delta done state: status usage { __typename promptTokens completionTokens estimated } error`;
const FAST = `subscription S($id: ID!, $from: Int) { ev: messageStream(messageId: $id, fromOffset: $from) { ${FIELDS} } }`;
const FULL = FAST.replace(' done ', ' done @include(if: true) ');
// totalTokens has a resolver: the plain builder takes every event but the last (usage set), which falls back.
const MIXED = `subscription S($id: ID!, $from: Int) { messageStream(messageId: $id, fromOffset: $from) { offset delta done usage { totalTokens promptTokens } } }`;
const MIXED_FULL = MIXED.replace(' done ', ' done @include(if: true) ');

type Result = { data?: Record<string, unknown>; errors?: unknown };

describe('messageStream fast path', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '5' } });
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildAppSchema();
  });

  const planned = (query: string) => planPlainSubscription({ schema, document: parse(query) }, PLAIN_SUBSCRIPTIONS) !== undefined;

  it('plans the plain documents by hand and leaves directives, fragments and `message` to the full execution', () => {
    expect(planned(FAST)).toBe(true);
    expect(planned(MIXED)).toBe(true);
    expect(planned(FULL)).toBe(false);
    expect(planned(MIXED_FULL)).toBe(false);
    expect(planned('subscription { messageStream(messageId: "x") { ...F } } fragment F on MessageStreamEvent { delta }')).toBe(false);
    expect(planned('subscription { messageStream(messageId: "x") { delta message { id } } }')).toBe(false);
    expect(planned('subscription { messageStream(messageId: "x") { a: delta a: offset } }')).toBe(false);
    expect(planned('subscription { chatEvents { type } }')).toBe(false);
  });

  async function finishedReply(token: string, text: string): Promise<string> {
    const conv = await createConversation(t.graphqlUrl, token);
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, token, conv, text)).body.data.sendMessage;
    const client = authedWs(t.wsUrl, token);
    await streamReply(client, assistantMessage.id);
    await client.dispose();
    return assistantMessage.id;
  }

  it('answers a finished reply with aliases and __typename exactly as the full execution does, from any offset', async () => {
    const u = await registerUser(t.graphqlUrl);
    const id = await finishedReply(u.accessToken, 'same answer on both paths ✓ 日本語');
    const client = authedWs(t.wsUrl, u.accessToken);
    for (const [fast, full] of [
      [FAST, FULL],
      [MIXED, MIXED_FULL],
    ]) {
      for (const from of [0, 7]) {
        const a = await wsRun<Result>(client, fast, { id, from });
        const b = await wsRun<Result>(client, full, { id, from });
        expect(a.map((r) => r.errors)).toEqual(a.map(() => undefined));
        // Byte for byte, key order included: what a client's cache sees.
        expect(JSON.stringify(a.map((r) => r.data))).toBe(JSON.stringify(b.map((r) => r.data)));
        expect(a.length).toBeGreaterThanOrEqual(2);
      }
    }
    const replay = await wsRun<Result>(client, FAST, { id, from: 0 });
    await client.dispose();
    const last = replay[replay.length - 1].data!.ev as Record<string, unknown>;
    expect(last).toMatchObject({ __typename: 'MessageStreamEvent', id, done: true, state: 'COMPLETE', text: '', error: null });
    expect(last.usage).toMatchObject({ __typename: 'TokenUsage', estimated: expect.any(Boolean) });
    expect((replay[0].data!.ev as Record<string, unknown>).usage).toBeNull();
  });

  it('streams a live reply through both paths to the same stored content, with exact offsets', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const text = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, u.accessToken, conv, text)).body.data.sendMessage;
    const client = authedWs(t.wsUrl, u.accessToken);
    const [fast, full] = await Promise.all([
      wsRun<Result>(client, FAST, { id: assistantMessage.id, from: 0 }),
      wsRun<Result>(client, FULL, { id: assistantMessage.id, from: 0 }),
    ]);
    await client.dispose();
    const events = (rs: Result[]) => rs.map((r) => r.data!.ev as { at: number; text: string; done: boolean });
    const joined = (rs: Result[]) =>
      assemble(events(rs).map((e) => ({ messageId: assistantMessage.id, offset: e.at, delta: e.text, done: e.done, status: '', usage: null, error: null })));
    const stored = await gql(
      t.graphqlUrl,
      'query Q($id: ID!) { conversation(id: $id) { messages { edges { node { id content } } } } }',
      { id: conv },
      bearer(u.accessToken),
    );
    const reply = stored.body.data.conversation.messages.edges.find((e: any) => e.node.id === assistantMessage.id).node.content;
    expect(reply).toBe(`Echo: ${text}`);
    expect(joined(fast)).toBe(reply);
    expect(joined(full)).toBe(reply);
    expect(events(fast).at(-1)!.done).toBe(true);
  });

  it('serves a document outside the plain shape (fragment, the final `message`) in full', async () => {
    const u = await registerUser(t.graphqlUrl);
    const id = await finishedReply(u.accessToken, 'with the message');
    const client = authedWs(t.wsUrl, u.accessToken);
    const rs = await wsRun<Result>(
      client,
      'subscription S($id: ID!) { messageStream(messageId: $id) { ...D done message { id content status } } } fragment D on MessageStreamEvent { offset delta }',
      { id },
    );
    await client.dispose();
    const last = rs[rs.length - 1].data!.messageStream as Record<string, any>;
    expect(last).toMatchObject({ done: true, message: { id, content: 'Echo: with the message', status: 'COMPLETE' } });
    expect((rs[0].data!.messageStream as Record<string, unknown>).message).toBeNull();
  });
});
