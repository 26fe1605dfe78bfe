import { bearer, registerUser, type Registered } from '../helpers/auth';
import { MESSAGE_FIELDS, assemble, authedWs, createConversation, streamReply, streamedPast } from '../helpers/chat';
import { useFakeOpenAIServer } from '../helpers/fake-openai';
import { gql, sql, useTestServer, type TestServer } from '../helpers/server';

const FIELDS = `${MESSAGE_FIELDS} clientMessageId`;
const PAYLOAD = `userMessage { ${FIELDS} } assistantMessage { ${FIELDS} }
  userMessageEdge { cursor node { id content } } assistantMessageEdge { cursor node { id status } }
  conversation { id title updatedAt }`;
const LONG = Array.from({ length: 80 }, (_, i) => `w${i}`).join(' ');
const FINAL_STREAM = `subscription M($id: ID!, $from: Int) { messageStream(messageId: $id, fromOffset: $from) {
  offset delta done status message { id content status usage { promptTokens completionTokens } } } }`;

function send(t: TestServer, u: Registered, conversationId: string, content: string, clientMessageId?: string) {
  return gql(
    t.graphqlUrl,
    `mutation S($i: SendMessageInput!) { sendMessage(input: $i) { ${PAYLOAD} } }`,
    { i: { conversationId, content, clientMessageId } },
    bearer(u.accessToken),
  );
}

function regenerate(t: TestServer, u: Registered, messageId: string) {
  return gql(t.graphqlUrl, `mutation R($id: ID!) { regenerateReply(messageId: $id) { ${PAYLOAD} } }`, { id: messageId }, bearer(u.accessToken));
}

function edit(t: TestServer, u: Registered, messageId: string, content: string) {
  return gql(
    t.graphqlUrl,
    `mutation E($id: ID!, $c: String!) { editMessage(messageId: $id, content: $c) { ${PAYLOAD} } }`,
    { id: messageId, c: content },
    bearer(u.accessToken),
  );
}

async function messagesOf(t: TestServer, u: Registered, conversationId: string, after?: string) {
  const res = await gql(
    t.graphqlUrl,
    'query Q($id: ID!, $after: String) { conversation(id: $id) { messages(first: 100, after: $after) { edges { cursor node { id role content status } } } } }',
    { id: conversationId, after },
    bearer(u.accessToken),
  );
  return res.body.data.conversation.messages.edges.map((e: any) => e.node) as { id: string; role: string; content: string; status: string }[];
}

/** Sends and follows the reply to its end; returns the payload and the reply's final text. */
async function sendAndFinish(t: TestServer, u: Registered, conversationId: string, content: string) {
  const payload = (await send(t, u, conversationId, content)).body.data.sendMessage;
  const client = authedWs(t.wsUrl, u.accessToken);
  const text = assemble(await streamReply(client, payload.assistantMessage.id));
  await client.dispose();
  return { payload, text };
}

async function finish(t: TestServer, u: Registered, messageId: string): Promise<string> {
  const client = authedWs(t.wsUrl, u.accessToken);
  const text = assemble(await streamReply(client, messageId));
  await client.dispose();
  return text;
}

const codeOf = (res: { body: { errors?: any[] } }) => res.body.errors?.[0]?.extensions?.code;

describe('reply payloads and the stream', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '5' } });

  it('sendMessage returns both edges with cursors that page messages, and the updated conversation', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const before = (await gql(t.graphqlUrl, 'query Q($id: ID!) { conversation(id: $id) { updatedAt } }', { id: conv }, bearer(u.accessToken))).body.data
      .conversation.updatedAt;
    const p = (await send(t, u, conv, 'edges please')).body.data.sendMessage;
    expect(p.userMessageEdge.node).toEqual({ id: p.userMessage.id, content: 'edges please' });
    expect(p.assistantMessageEdge.node).toEqual({ id: p.assistantMessage.id, status: 'STREAMING' });
    expect(p.conversation.id).toBe(conv);
    expect(p.conversation.title).toBe('edges please');
    expect(Date.parse(p.conversation.updatedAt)).toBeGreaterThan(Date.parse(before));
    // The cursors are positions in Conversation.messages.
    expect((await messagesOf(t, u, conv, p.userMessageEdge.cursor)).map((m) => m.id)).toEqual([p.assistantMessage.id]);
    expect(await messagesOf(t, u, conv, p.assistantMessageEdge.cursor)).toEqual([]);
    await finish(t, u, p.assistantMessage.id);
  });

  it('the last stream event carries the final message; a finished reply replays with its final status on every event', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const p = (await send(t, u, conv, 'final message please')).body.data.sendMessage;
    const client = authedWs(t.wsUrl, u.accessToken);
    const run = (from: number) =>
      new Promise<any[]>((resolve, reject) => {
        const events: any[] = [];
        client.subscribe<any>(
          { query: FINAL_STREAM, variables: { id: p.assistantMessage.id, from } },
          { next: (r) => (r.errors ? reject(r.errors) : events.push(r.data.messageStream)), error: reject, complete: () => resolve(events) },
        );
      });
    const live = await run(0);
    const last = live[live.length - 1];
    expect(last).toMatchObject({ done: true, status: 'COMPLETE' });
    expect(last.message).toMatchObject({ id: p.assistantMessage.id, content: 'Echo: final message please', status: 'COMPLETE' });
    expect(last.message.usage.completionTokens).toBeGreaterThan(0);
    expect(live.slice(0, -1).every((e) => e.message === null)).toBe(true);
    const replay = await run(2);
    expect(replay.map((e) => e.delta).join('')).toBe('ho: final message please');
    expect(replay.length).toBeGreaterThan(1);
    expect(replay.map((e) => e.status)).toEqual(replay.map(() => 'COMPLETE'));
    expect(replay[replay.length - 1].message.content).toBe('Echo: final message please');
    await client.dispose();
  });

  it('messageStream on a user message, or on another user’s reply, is NOT_FOUND', async () => {
    const u = await registerUser(t.graphqlUrl);
    const other = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const p = (await send(t, u, conv, 'not a reply')).body.data.sendMessage;
    const mine = authedWs(t.wsUrl, u.accessToken);
    const theirs = authedWs(t.wsUrl, other.accessToken);
    const notFound = [expect.objectContaining({ extensions: expect.objectContaining({ code: 'NOT_FOUND' }) })];
    await expect(streamReply(mine, p.userMessage.id)).rejects.toEqual(notFound);
    await expect(streamReply(theirs, p.assistantMessage.id)).rejects.toEqual(notFound);
    await streamReply(mine, p.assistantMessage.id);
    await mine.dispose();
    await theirs.dispose();
  });
});

describe('clientMessageId: safe retries', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '5', USER_DAILY_TOKEN_QUOTA: '100000' } });

  it('a retry returns the first payload and starts nothing: no message, reply, audit event or token charge', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const first = (await send(t, u, conv, 'retry me', 'web-1:tab.2_x')).body.data.sendMessage;
    expect(first.userMessage.clientMessageId).toBe('web-1:tab.2_x');
    await finish(t, u, first.assistantMessage.id);
    const [ledger] = await sql(t, 'select reserved, used from token_usage where user_id = ?', [u.userId]);
    const again = await send(t, u, conv, 'retry me', 'web-1:tab.2_x');
    expect(again.body.errors).toBeUndefined();
    const second = again.body.data.sendMessage;
    expect(second.userMessage.id).toBe(first.userMessage.id);
    expect(second.assistantMessage).toMatchObject({ id: first.assistantMessage.id, status: 'COMPLETE', content: 'Echo: retry me' });
    expect(second.userMessageEdge.cursor).toBe(first.userMessageEdge.cursor);
    expect(second.assistantMessageEdge.cursor).toBe(first.assistantMessageEdge.cursor);
    expect((await messagesOf(t, u, conv)).map((m) => m.id)).toEqual([first.userMessage.id, first.assistantMessage.id]);
    expect(await sql(t, 'select reserved, used from token_usage where user_id = ?', [u.userId])).toEqual([ledger]);
    const creates = await sql(t, `select count(*)::int as n from audit_event where actor_id = ? and action = 'chat.message.create'`, [u.userId]);
    expect(creates[0].n).toBe(1);
  });

  it('two concurrent sends with one id store one message and one reply, and both get its ids', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const [a, b] = await Promise.all([send(t, u, conv, 'at once', 'same-id'), send(t, u, conv, 'at once', 'same-id')]);
    expect(a.body.errors).toBeUndefined();
    expect(b.body.errors).toBeUndefined();
    expect(b.body.data.sendMessage.userMessage.id).toBe(a.body.data.sendMessage.userMessage.id);
    expect(b.body.data.sendMessage.assistantMessage.id).toBe(a.body.data.sendMessage.assistantMessage.id);
    await finish(t, u, a.body.data.sendMessage.assistantMessage.id);
    expect(await messagesOf(t, u, conv)).toHaveLength(2);
    // The database itself refuses a second row with that id for that sender (writers on other instances, or bypassing the lock).
    await expect(
      sql(
        t,
        `insert into message (id, conversation_id, role, content, status, created_at, sender_id, client_message_id)
        values (gen_random_uuid(), ?, 'USER', 'at once', 'COMPLETE', now(), ?, 'same-id')`,
        [conv, u.userId],
      ),
    ).rejects.toThrow(/message_sender_client_message_id_unique/);
  });

  it('ids are per user; the same id with other text or another conversation, or a malformed id, is BAD_USER_INPUT', async () => {
    const u = await registerUser(t.graphqlUrl);
    const other = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const conv2 = await createConversation(t.graphqlUrl, u.accessToken);
    const otherConv = await createConversation(t.graphqlUrl, other.accessToken);
    const mine = (await send(t, u, conv, 'hello', 'shared')).body.data.sendMessage;
    const theirs = (await send(t, other, otherConv, 'hello', 'shared')).body.data.sendMessage;
    expect(theirs.userMessage.id).not.toBe(mine.userMessage.id);
    expect(codeOf(await send(t, u, conv, 'something else', 'shared'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await send(t, u, conv2, 'hello', 'shared'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await send(t, u, conv, 'hello', 'x'.repeat(65)))).toBe('BAD_USER_INPUT');
    expect(codeOf(await send(t, u, conv, 'hello', 'no spaces'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await send(t, u, conv, 'hello', ''))).toBe('BAD_USER_INPUT');
    await finish(t, u, mine.assistantMessage.id);
    await finish(t, other, theirs.assistantMessage.id);
    expect(await messagesOf(t, u, conv)).toHaveLength(2);
    expect(await messagesOf(t, u, conv2)).toHaveLength(0);
  });
});

describe('regenerateReply and editMessage', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '15', CHAT_MAX_CONCURRENT_STREAMS: '1' } });

  it('regenerate deletes the reply and every later message and streams a new reply to the same prompt (audited, no text)', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const one = await sendAndFinish(t, u, conv, 'first secret-question');
    await sendAndFinish(t, u, conv, 'second question');
    const res = await regenerate(t, u, one.payload.assistantMessage.id);
    expect(res.body.errors).toBeUndefined();
    const p = res.body.data.regenerateReply;
    expect(p.userMessage.id).toBe(one.payload.userMessage.id);
    expect(p.assistantMessage).toMatchObject({ role: 'ASSISTANT', status: 'STREAMING' });
    expect(p.assistantMessage.id).not.toBe(one.payload.assistantMessage.id);
    expect(await finish(t, u, p.assistantMessage.id)).toBe('Echo: first secret-question');
    expect((await messagesOf(t, u, conv)).map((m) => [m.id, m.role, m.content])).toEqual([
      [one.payload.userMessage.id, 'USER', 'first secret-question'],
      [p.assistantMessage.id, 'ASSISTANT', 'Echo: first secret-question'],
    ]);
    const audits = await sql(t, `select resource_id, metadata from audit_event where actor_id = ? and action = 'chat.message.regenerate'`, [u.userId]);
    expect(audits).toEqual([
      {
        resource_id: one.payload.assistantMessage.id,
        metadata: { conversationId: conv, assistantMessageId: p.assistantMessage.id, deletedMessages: 3 },
      },
    ]);
    expect(JSON.stringify(await sql(t, 'select metadata from audit_event where actor_id = ?', [u.userId]))).not.toContain('secret-');
  });

  it('edit replaces the text, deletes every later message and streams a new reply to it (audited, no text)', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const one = await sendAndFinish(t, u, conv, 'original');
    await sendAndFinish(t, u, conv, 'later');
    const res = await edit(t, u, one.payload.userMessage.id, '  edited secret-text ');
    expect(res.body.errors).toBeUndefined();
    const p = res.body.data.editMessage;
    expect(p.userMessage).toMatchObject({ id: one.payload.userMessage.id, content: 'edited secret-text' });
    expect(await finish(t, u, p.assistantMessage.id)).toBe('Echo: edited secret-text');
    expect((await messagesOf(t, u, conv)).map((m) => [m.id, m.content, m.status])).toEqual([
      [one.payload.userMessage.id, 'edited secret-text', 'COMPLETE'],
      [p.assistantMessage.id, 'Echo: edited secret-text', 'COMPLETE'],
    ]);
    const audits = await sql(t, `select resource_id, metadata from audit_event where actor_id = ? and action = 'chat.message.edit'`, [u.userId]);
    expect(audits).toEqual([
      { resource_id: one.payload.userMessage.id, metadata: { conversationId: conv, assistantMessageId: p.assistantMessage.id, deletedMessages: 3 } },
    ]);
    expect(JSON.stringify(audits)).not.toContain('secret-');
  });

  it('both stop a running reply first (even at the one-stream limit) and leave exactly the right messages', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const running = (await send(t, u, conv, LONG)).body.data.sendMessage;
    const watcher = authedWs(t.wsUrl, u.accessToken);
    const oldStream = streamReply(watcher, running.assistantMessage.id);
    await streamedPast(watcher, running.assistantMessage.id, 10);
    const regen = (await regenerate(t, u, running.assistantMessage.id)).body.data.regenerateReply;
    const ended = await oldStream;
    expect(ended[ended.length - 1]).toMatchObject({ done: true, status: 'CANCELLED' });
    await streamedPast(watcher, regen.assistantMessage.id, 10);
    const edited = (await edit(t, u, running.userMessage.id, 'short now')).body.data.editMessage;
    expect(await finish(t, u, edited.assistantMessage.id)).toBe('Echo: short now');
    expect((await messagesOf(t, u, conv)).map((m) => [m.id, m.content, m.status])).toEqual([
      [running.userMessage.id, 'short now', 'COMPLETE'],
      [edited.assistantMessage.id, 'Echo: short now', 'COMPLETE'],
    ]);
    expect(t.server.services.runner.size).toBe(0);
    await watcher.dispose();
  });

  it('the wrong role, another user’s message, a malformed id or bad content is refused with a code', async () => {
    const u = await registerUser(t.graphqlUrl);
    const other = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const { payload } = await sendAndFinish(t, u, conv, 'mine');
    expect(codeOf(await regenerate(t, u, payload.userMessage.id))).toBe('NOT_FOUND');
    expect(codeOf(await edit(t, u, payload.assistantMessage.id, 'x'))).toBe('NOT_FOUND');
    expect(codeOf(await regenerate(t, other, payload.assistantMessage.id))).toBe('NOT_FOUND');
    expect(codeOf(await edit(t, other, payload.userMessage.id, 'x'))).toBe('NOT_FOUND');
    expect(codeOf(await regenerate(t, u, 'not-a-uuid'))).toBe('NOT_FOUND');
    const withParameters = (parameters: object) =>
      gql(
        t.graphqlUrl,
        'mutation R($id: ID!, $p: ModelParametersInput) { regenerateReply(messageId: $id, parameters: $p) { assistantMessage { id } } }',
        { id: payload.assistantMessage.id, p: parameters },
        bearer(u.accessToken),
      );
    expect(codeOf(await withParameters({ temperature: 5 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await withParameters({ topP: -1 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await edit(t, u, payload.userMessage.id, '   '))).toBe('BAD_USER_INPUT');
    expect(codeOf(await edit(t, u, payload.userMessage.id, 'x'.repeat(32_001)))).toBe('BAD_USER_INPUT');
    expect((await messagesOf(t, u, conv)).map((m) => m.content)).toEqual(['mine', 'Echo: mine']);
  });
});

describe('regenerate and edit: limits', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '1', RATE_LIMIT_SEND_MESSAGE: '3/60', RATE_LIMIT_SCALE: '1', USER_DAILY_TOKEN_QUOTA: '100000' } });

  it('draw from the daily token quota and from sendMessage’s rate-limit counter', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const { payload } = await sendAndFinish(t, u, conv, 'counted');
    // The day's quota used up elsewhere: no new reply starts.
    await sql(t, 'update token_usage set used = 100000 where user_id = ?', [u.userId]);
    for (const res of [await regenerate(t, u, payload.assistantMessage.id), await edit(t, u, payload.userMessage.id, 'changed')]) {
      expect(codeOf(res)).toBe('RATE_LIMITED');
      expect(res.body.errors[0].message).toMatch(/quota/);
    }
    expect((await messagesOf(t, u, conv)).map((m) => m.content)).toEqual(['counted', 'Echo: counted']);
    // One send and two refused rewinds used the three calls of the shared counter.
    await sql(t, 'update token_usage set used = 0 where user_id = ?', [u.userId]);
    const limited = await regenerate(t, u, payload.assistantMessage.id);
    expect(codeOf(limited)).toBe('RATE_LIMITED');
    expect(limited.body.errors[0].message).not.toMatch(/quota/);
    expect(limited.body.errors[0].extensions.retryAfterSeconds).toBeGreaterThan(0);
  });
});

describe('regenerate and edit: what the model is sent', () => {
  const { t, fake } = useFakeOpenAIServer({ AI_MODELS: 'good' });

  it('deleted messages leave the history: the new reply sees only what remains', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const one = await sendAndFinish(t, u, conv, 'one');
    await sendAndFinish(t, u, conv, 'two');
    const lastSent = () => fake.requests[fake.requests.length - 1].json.messages.map((m: any) => [m.role, m.content]);
    expect(lastSent()).toEqual([
      ['user', 'one'],
      ['assistant', one.text],
      ['user', 'two'],
    ]);
    await finish(t, u, (await regenerate(t, u, one.payload.assistantMessage.id)).body.data.regenerateReply.assistantMessage.id);
    expect(lastSent()).toEqual([['user', 'one']]);
    await finish(t, u, (await edit(t, u, one.payload.userMessage.id, 'uno')).body.data.editMessage.assistantMessage.id);
    expect(lastSent()).toEqual([['user', 'uno']]);
  });
});
