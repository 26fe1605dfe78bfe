import { bearer, registerUser } from '../helpers/auth';
import { MESSAGE_FIELDS, assemble, authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { gql, sql, useTestServer } from '../helpers/server';
import { wsClient } from '../helpers/ws';

const LONG = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');

describe('conversations and messages', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '25', CHAT_MAX_CONCURRENT_STREAMS: '2' } });

  it('lists conversations newest first and messages oldest first, with cursors and no overlap', async () => {
    const u = await registerUser(t.graphqlUrl);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await createConversation(t.graphqlUrl, u.accessToken, { title: `c${i}` }));
    const page = (after?: string) =>
      gql(
        t.graphqlUrl,
        'query P($after: String) { conversations(first: 2, after: $after) { edges { node { id title } cursor } pageInfo { hasNextPage endCursor } } }',
        { after },
        bearer(u.accessToken),
      );
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const r = (await page(after)).body.data.conversations;
      seen.push(...r.edges.map((e: any) => e.node.id));
      if (!r.pageInfo.hasNextPage) break;
      after = r.pageInfo.endCursor;
    }
    expect(seen).toEqual([...ids].reverse());
    const tooMany = await gql(t.graphqlUrl, '{ conversations(first: 101) { edges { cursor } } }', undefined, bearer(u.accessToken));
    expect(tooMany.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const badCursor = await gql(t.graphqlUrl, '{ conversations(after: "garbage") { edges { cursor } } }', undefined, bearer(u.accessToken));
    expect(badCursor.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('creates with a known model only, titles untitled conversations from the first message, and audits without text', async () => {
    const u = await registerUser(t.graphqlUrl);
    const bad = await gql(t.graphqlUrl, 'mutation { createConversation(input: { model: "gpt-99" }) { id } }', undefined, bearer(u.accessToken));
    expect(bad.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const conv = await createConversation(t.graphqlUrl, u.accessToken, { systemPrompt: 'Be brief.' });
    const before = await gql(t.graphqlUrl, 'query Q($id: ID!) { conversation(id: $id) { title model systemPrompt } }', { id: conv }, bearer(u.accessToken));
    expect(before.body.data.conversation).toEqual({ title: 'New conversation', model: 'echo', systemPrompt: 'Be brief.' });
    const secret = `a very long first message that will be cut at sixty characters for the title, secret-${Date.now()}`;
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, u.accessToken, conv, secret)).body.data.sendMessage;
    const client = authedWs(t.wsUrl, u.accessToken);
    await streamReply(client, assistantMessage.id);
    await client.dispose();
    const after = await gql(t.graphqlUrl, 'query Q($id: ID!) { conversation(id: $id) { title } }', { id: conv }, bearer(u.accessToken));
    // Issue 11: cut at a word boundary (it was mid-word at 60 characters).
    expect(after.body.data.conversation.title).toBe('a very long first message that will be cut at sixty');
    const audits = await sql(t, `select action, resource_id, metadata from audit_event where actor_id = ? and action like 'chat.%' order by seq`, [u.userId]);
    expect(audits.map((a) => a.action)).toEqual(['chat.conversation.create', 'chat.message.create']);
    expect(JSON.stringify(audits)).not.toContain('secret-');
  });

  it('refuses empty and oversized content', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    expect((await sendMessage(t.graphqlUrl, u.accessToken, conv, '   ')).body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await sendMessage(t.graphqlUrl, u.accessToken, conv, 'x'.repeat(32_001))).body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await sendMessage(t.graphqlUrl, u.accessToken, conv, 'x'.repeat(32_000))).body.errors).toBeUndefined();
  });

  it("answers another user's conversation, message and stream with NOT_FOUND", async () => {
    const a = await registerUser(t.graphqlUrl);
    const b = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, a.accessToken);
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, a.accessToken, conv, 'mine')).body.data.sendMessage;
    const code = async (q: string, v: Record<string, unknown>) => (await gql(t.graphqlUrl, q, v, bearer(b.accessToken))).body.errors?.[0]?.extensions?.code;
    expect(await code('query Q($id: ID!) { conversation(id: $id) { id } }', { id: conv })).toBe('NOT_FOUND');
    expect(await code('mutation M($id: ID!) { deleteConversation(id: $id) }', { id: conv })).toBe('NOT_FOUND');
    expect(
      await code('mutation M($i: SendMessageInput!) { sendMessage(input: $i) { userMessage { id } } }', { i: { conversationId: conv, content: 'hi' } }),
    ).toBe('NOT_FOUND');
    expect(await code('mutation M($id: ID!) { cancelGeneration(messageId: $id) { id } }', { id: assistantMessage.id })).toBe('NOT_FOUND');
    const client = authedWs(t.wsUrl, b.accessToken);
    await expect(streamReply(client, assistantMessage.id)).rejects.toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'NOT_FOUND' }) }),
    ]);
    await client.dispose();
  });

  it('refuses an unauthenticated subscription', async () => {
    const a = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, a.accessToken);
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, a.accessToken, conv, 'x')).body.data.sendMessage;
    const anon = wsClient(t.wsUrl);
    await expect(streamReply(anon, assistantMessage.id)).rejects.toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) }),
    ]);
    await anon.dispose();
  });

  it('cancelGeneration stops the reply, keeps the partial text, and ends the stream CANCELLED', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, u.accessToken, conv, LONG)).body.data.sendMessage;
    const client = authedWs(t.wsUrl, u.accessToken);
    let cancelled: any;
    const events = await streamReply(client, assistantMessage.id, 0, (e) => {
      if (!cancelled && e.offset > 30) {
        cancelled = gql(
          t.graphqlUrl,
          `mutation C($id: ID!) { cancelGeneration(messageId: $id) { ${MESSAGE_FIELDS} } }`,
          { id: assistantMessage.id },
          bearer(u.accessToken),
        );
      }
    });
    await client.dispose();
    const res = (await cancelled).body.data.cancelGeneration;
    expect(res.status).toBe('CANCELLED');
    expect(res.content.length).toBeGreaterThan(30);
    expect(`Echo: ${LONG}`.startsWith(res.content)).toBe(true);
    expect(res.content.length).toBeLessThan(`Echo: ${LONG}`.length);
    expect(assemble(events)).toBe(res.content);
    expect(events[events.length - 1]).toMatchObject({ done: true, status: 'CANCELLED' });
  });

  it('caps concurrent streams per user', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const first = await sendMessage(t.graphqlUrl, u.accessToken, conv, LONG);
    const second = await sendMessage(t.graphqlUrl, u.accessToken, conv, LONG);
    const third = await sendMessage(t.graphqlUrl, u.accessToken, conv, LONG);
    expect(first.body.errors).toBeUndefined();
    expect(second.body.errors).toBeUndefined();
    expect(third.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    for (const r of [first, second]) {
      await gql(
        t.graphqlUrl,
        'mutation C($id: ID!) { cancelGeneration(messageId: $id) { id } }',
        { id: r.body.data.sendMessage.assistantMessage.id },
        bearer(u.accessToken),
      );
    }
    expect((await sendMessage(t.graphqlUrl, u.accessToken, conv, 'now it fits')).body.errors).toBeUndefined();
  });

  it('deleting a conversation during a stream ends the stream and removes everything', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, u.accessToken, conv, LONG)).body.data.sendMessage;
    const client = authedWs(t.wsUrl, u.accessToken);
    let deleted: Promise<unknown> | undefined;
    const events = await streamReply(client, assistantMessage.id, 0, (e) => {
      if (!deleted && e.offset > 10) deleted = gql(t.graphqlUrl, 'mutation D($id: ID!) { deleteConversation(id: $id) }', { id: conv }, bearer(u.accessToken));
    });
    await client.dispose();
    await deleted;
    expect(events[events.length - 1].done).toBe(true);
    expect(
      (await gql(t.graphqlUrl, 'query Q($id: ID!) { conversation(id: $id) { id } }', { id: conv }, bearer(u.accessToken))).body.errors[0].extensions.code,
    ).toBe('NOT_FOUND');
    expect(await sql(t, 'select id from message where conversation_id = ?', [conv])).toHaveLength(0);
    expect(await sql(t, `select id from audit_event where action = 'chat.conversation.delete' and resource_id = ?`, [conv])).toHaveLength(1);
  });
});

describe('daily token quota', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '5', USER_DAILY_TOKEN_QUOTA: '40' } });

  // The remaining quota caps the output limit sent to the provider (API.md: ModelParametersInput), so a
  // reply past it is cut there and ends COMPLETE with finishReason LENGTH (it used to end FAILED).
  it('cuts a reply at what the quota leaves (LENGTH) and refuses new messages', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const { assistantMessage } = (await sendMessage(t.graphqlUrl, u.accessToken, conv, LONG)).body.data.sendMessage;
    const client = authedWs(t.wsUrl, u.accessToken);
    const events = await streamReply(client, assistantMessage.id);
    await client.dispose();
    expect(events[events.length - 1]).toMatchObject({ done: true, status: 'COMPLETE' });
    expect(assemble(events)).toBe('Echo'); // a 58-token prompt leaves nothing of 40: one token, 4 characters
    expect(await sql(t, 'select finish_reason from message where id = ?', [assistantMessage.id])).toEqual([{ finish_reason: 'LENGTH' }]);
    const refused = await sendMessage(t.graphqlUrl, u.accessToken, conv, 'more');
    expect(refused.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(refused.body.errors[0].message).toMatch(/quota/);
  });
});
