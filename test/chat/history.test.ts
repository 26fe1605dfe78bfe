import { randomUUID } from 'node:crypto';
import { bearer, registerUser, type Registered } from '../helpers/auth';
import { authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { gql, seal, sql, useTestServer, type TestServer } from '../helpers/server';
import { wsClient, wsRun } from '../helpers/ws';

const PAGE = `query P($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  conversation(id: $id) {
    messages(first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { id content } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}`;
const LIST = `query L($first: Int, $after: String, $orderBy: ConversationOrder, $filter: ConversationFilter) {
  conversations(first: $first, after: $after, orderBy: $orderBy, filter: $filter) {
    edges { cursor node { id title archived } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;
const UPDATE = `mutation U($id: ID!, $input: UpdateConversationInput!) {
  updateConversation(id: $id, input: $input) { id title model systemPrompt archived updatedAt }
}`;

/**
 * Stores `count` messages in a conversation, oldest first: `m00`, `m01`… Five share each
 * timestamp, so order and cursors rest on the id tie-break as much as on the time.
 */
async function storeMessages(t: TestServer, conversationId: string, count: number): Promise<string[]> {
  const base = Date.UTC(2026, 0, 1);
  const rows = Array.from({ length: count }, (_, i) => ({ id: randomUUID(), i, at: new Date(base + Math.floor(i / 5) * 1000) }));
  // Within a timestamp the ids decide: sort them so m00..m49 is also (created_at, id) order.
  for (let g = 0; g < count; g += 5) {
    const ids = rows.slice(g, g + 5).map((r) => r.id);
    ids.sort();
    ids.forEach((id, k) => (rows[g + k].id = id));
  }
  const [{ owner_id: owner }] = await sql(t, 'select owner_id from conversation where id = ?', [conversationId]);
  for (const r of rows) {
    await sql(t, `insert into message (id, conversation_id, role, content, status, created_at) values (?, ?, ?, ?, 'COMPLETE', ?)`, [
      r.id,
      conversationId,
      r.i % 2 === 0 ? 'USER' : 'ASSISTANT',
      await seal(t, owner as string, 'message.content', r.id, `m${String(r.i).padStart(2, '0')}`),
      r.at,
    ]);
  }
  return rows.map((r) => `m${String(r.i).padStart(2, '0')}`);
}

describe('history and conversations for chat clients', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '0' } });
  const q = (u: Registered, query: string, variables?: Record<string, unknown>) => gql(t.graphqlUrl, query, variables, bearer(u.accessToken));
  const page = async (u: Registered, variables: Record<string, unknown>) => {
    const r = await q(u, PAGE, variables);
    if (r.body.errors) throw new Error(JSON.stringify(r.body.errors));
    return r.body.data.conversation.messages;
  };

  /** Sends a message and waits for its reply to finish, as a client that shows the reply would. */
  async function exchange(u: Registered, conversationId: string, content: string): Promise<void> {
    const sent = await sendMessage(t.graphqlUrl, u.accessToken, conversationId, content);
    const client = authedWs(t.wsUrl, u.accessToken);
    await streamReply(client, sent.body.data.sendMessage.assistantMessage.id);
    await client.dispose();
  }

  it('pages back from the newest with last/before, oldest first within each page, with no gap or duplicate', async () => {
    const u = await registerUser(t.graphqlUrl);
    const id = await createConversation(t.graphqlUrl, u.accessToken);
    const all = await storeMessages(t, id, 50);

    const newest = await page(u, { id, last: 30 });
    expect(newest.edges.map((e: any) => e.node.content)).toEqual(all.slice(20));
    expect(newest.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    expect(newest.pageInfo.startCursor).toBe(newest.edges[0].cursor);
    expect(newest.pageInfo.endCursor).toBe(newest.edges[29].cursor);

    // Keep paging back, 7 at a time, until nothing is older.
    const seen: string[] = newest.edges.map((e: any) => e.node.content);
    let before = newest.pageInfo.startCursor;
    let pages = 0;
    for (;;) {
      const older = await page(u, { id, last: 7, before });
      expect(older.pageInfo.hasNextPage).toBe(true); // the page after it is what we already have
      seen.unshift(...older.edges.map((e: any) => e.node.content));
      pages += 1;
      if (!older.pageInfo.hasPreviousPage) break;
      before = older.pageInfo.startCursor;
    }
    expect(pages).toBe(3); // 7 + 7 + 6
    expect(seen).toEqual(all);

    // Forwards again from a cursor in the middle: the pages meet exactly.
    const forward = await page(u, { id, first: 10, after: newest.edges[0].cursor });
    expect(forward.edges.map((e: any) => e.node.content)).toEqual(all.slice(21, 31));
    expect(forward.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
    const start = await page(u, { id, first: 5 });
    expect(start.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
    // Both cursors: the window between them.
    const between = await page(u, { id, first: 100, after: start.edges[4].cursor, before: newest.edges[0].cursor });
    expect(between.edges.map((e: any) => e.node.content)).toEqual(all.slice(5, 20));
  });

  it('refuses first with last, sizes over 100 or under 0 and bad cursors with BAD_USER_INPUT, before any cost check', async () => {
    const u = await registerUser(t.graphqlUrl);
    const id = await createConversation(t.graphqlUrl, u.accessToken);
    const code = async (variables: Record<string, unknown>) => (await q(u, PAGE, { id, ...variables })).body.errors?.[0]?.extensions?.code;
    expect(await code({ first: 2, last: 2 })).toBe('BAD_USER_INPUT');
    expect(await code({ last: 101 })).toBe('BAD_USER_INPUT');
    expect(await code({ last: -1 })).toBe('BAD_USER_INPUT');
    expect(await code({ last: 5, before: 'garbage' })).toBe('BAD_USER_INPUT');
    expect(await code({ last: 100 })).toBeUndefined();

    // 101 inside a document whose cost is far over the limit: the page size is what is reported.
    const costly = `{ conversations(first: 100) { edges { node { messages(last: 101) { edges { node { id } } } } } } }`;
    const http = await q(u, costly);
    expect(http.status).toBe(400);
    expect(http.body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'last' }) })]);
    const both = await q(u, `{ conversations(first: 100) { edges { node { messages(first: 3, last: 3) { edges { node { id } } } } } } }`);
    expect(both.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    const client = wsClient(t.wsUrl, { connectionParams: { authorization: `Bearer ${u.accessToken}` } });
    try {
      await expect(wsRun(client, costly)).rejects.toEqual([
        expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'last' }) }),
      ]);
    } finally {
      await client.dispose();
    }
  });

  it('lists the conversation just used first, or newest created first, with cursors bound to their order', async () => {
    const u = await registerUser(t.graphqlUrl);
    const [a, b, c] = [
      await createConversation(t.graphqlUrl, u.accessToken, { title: 'A' }),
      await createConversation(t.graphqlUrl, u.accessToken, { title: 'B' }),
      await createConversation(t.graphqlUrl, u.accessToken, { title: 'C' }),
    ];
    await exchange(u, a, 'hello again');
    const ids = async (variables: Record<string, unknown>) => (await q(u, LIST, variables)).body.data.conversations.edges.map((e: any) => e.node.id);
    expect(await ids({})).toEqual([a, c, b]);
    expect(await ids({ orderBy: 'UPDATED_AT' })).toEqual([a, c, b]);
    expect(await ids({ orderBy: 'CREATED_AT' })).toEqual([c, b, a]);

    const first = (await q(u, LIST, { first: 1 })).body.data.conversations;
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const second = (await q(u, LIST, { first: 2, after: first.pageInfo.endCursor })).body.data.conversations;
    expect(second.edges.map((e: any) => e.node.id)).toEqual([c, b]);
    expect(second.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const mixed = await q(u, LIST, { first: 2, after: first.pageInfo.endCursor, orderBy: 'CREATED_AT' });
    expect(mixed.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('filters by title (case-insensitive, wildcards literal, bounded) and by archived, listing both when not asked', async () => {
    const u = await registerUser(t.graphqlUrl);
    const full = await createConversation(t.graphqlUrl, u.accessToken, { title: 'Plan: 100% done' });
    const under = await createConversation(t.graphqlUrl, u.accessToken, { title: 'plan_b' });
    const other = await createConversation(t.graphqlUrl, u.accessToken, { title: 'Groceries' });
    const titles = async (filter: Record<string, unknown>) => (await q(u, LIST, { filter })).body.data.conversations.edges.map((e: any) => e.node.id).sort();
    expect(await titles({ titleContains: 'PLAN' })).toEqual([full, under].sort());
    expect(await titles({ titleContains: '100%' })).toEqual([full]);
    expect(await titles({ titleContains: '%' })).toEqual([full]);
    expect(await titles({ titleContains: '_' })).toEqual([under]);
    expect(await titles({ titleContains: 'n_b' })).toEqual([under]);
    expect(await titles({ titleContains: 'nothing like it' })).toEqual([]);
    const long = await q(u, LIST, { filter: { titleContains: 'x'.repeat(201) } });
    expect(long.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');

    await q(u, UPDATE, { id: other, input: { archived: true } });
    expect(await titles({})).toEqual([full, under, other].sort());
    expect(await titles({ archived: true })).toEqual([other]);
    expect(await titles({ archived: false })).toEqual([full, under].sort());
    expect(await titles({ archived: false, titleContains: 'groc' })).toEqual([]);
  });

  it('gives lastMessage (null when none), read in one query for a whole page of conversations', async () => {
    const u = await registerUser(t.graphqlUrl);
    const empty = await createConversation(t.graphqlUrl, u.accessToken);
    const used = await createConversation(t.graphqlUrl, u.accessToken);
    await exchange(u, used, 'first words');
    await exchange(u, used, 'second words');
    const stored = await createConversation(t.graphqlUrl, u.accessToken);
    const all = await storeMessages(t, stored, 12);

    const one = await q(u, 'query Q($id: ID!) { conversation(id: $id) { lastMessage { role content status } } }', { id: used });
    expect(one.body.data.conversation.lastMessage).toEqual({ role: 'ASSISTANT', content: 'Echo: second words', status: 'COMPLETE' });

    // The driver's connection is shared by every request's fork: count the statements that read last messages.
    const connection = t.db.orm.em.getConnection();
    const spy = jest.spyOn(connection, 'execute');
    try {
      const list = await q(u, '{ conversations { edges { node { id lastMessage { content } } } } }');
      const last = Object.fromEntries(list.body.data.conversations.edges.map((e: any) => [e.node.id, e.node.lastMessage?.content ?? null]));
      expect(last).toEqual({ [empty]: null, [used]: 'Echo: second words', [stored]: all[11] });
      const reads = spy.mock.calls.filter(([query]) => typeof query === 'string' && query.includes('distinct on (conversation_id)'));
      expect(reads).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
  });

  it('updates title, model, system prompt and archived, bounded, audited by field name only; others get NOT_FOUND', async () => {
    const u = await registerUser(t.graphqlUrl);
    const id = await createConversation(t.graphqlUrl, u.accessToken, { title: 'Before' });
    const idle = await createConversation(t.graphqlUrl, u.accessToken, { title: 'Idle' });
    const secretTitle = `renamed-secret-${Date.now()}`;
    const res = await q(u, UPDATE, { id, input: { title: `  ${secretTitle} `, systemPrompt: 'Answer in French.', archived: true } });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.updateConversation).toMatchObject({ id, title: secretTitle, model: 'echo', systemPrompt: 'Answer in French.', archived: true });
    const read = await q(u, 'query Q($id: ID!) { conversation(id: $id) { title systemPrompt archived } }', { id });
    expect(read.body.data.conversation).toEqual({ title: secretTitle, systemPrompt: 'Answer in French.', archived: true });
    // A change counts as use: it sorts first.
    expect((await q(u, LIST, {})).body.data.conversations.edges.map((e: any) => e.node.id)).toEqual([id, idle]);
    // An empty system prompt removes it; a known model is accepted.
    expect((await q(u, UPDATE, { id, input: { systemPrompt: '', model: 'echo' } })).body.data.updateConversation.systemPrompt).toBeNull();

    const code = async (input: Record<string, unknown>, target = id, who = u) =>
      (await q(who, UPDATE, { id: target, input })).body.errors?.[0]?.extensions?.code;
    expect(await code({ model: 'gpt-99' })).toBe('BAD_USER_INPUT');
    expect(await code({ title: 'x'.repeat(201) })).toBe('BAD_USER_INPUT');
    expect(await code({ title: '   ' })).toBe('BAD_USER_INPUT');
    expect(await code({ systemPrompt: 'x'.repeat(8001) })).toBe('BAD_USER_INPUT');
    const other = await registerUser(t.graphqlUrl);
    expect(await code({ title: 'mine now' }, id, other)).toBe('NOT_FOUND');
    expect(await code({ title: 'mine now' }, 'not-a-uuid', other)).toBe('NOT_FOUND');
    expect((await q(u, 'query Q($id: ID!) { conversation(id: $id) { title } }', { id })).body.data.conversation.title).toBe(secretTitle);

    const audits = await sql(
      t,
      `select action, resource_id, metadata from audit_event where actor_id = ? and action = 'chat.conversation.update' order by seq`,
      [u.userId],
    );
    expect(audits).toEqual([
      { action: 'chat.conversation.update', resource_id: id, metadata: { fields: ['title', 'systemPrompt', 'archived'] } },
      { action: 'chat.conversation.update', resource_id: id, metadata: { fields: ['systemPrompt'] } },
    ]);
    expect(JSON.stringify(await sql(t, 'select metadata from audit_event'))).not.toContain('renamed-secret');
  });

  it("tells the owner's other devices about an update with a CONVERSATION_UPDATED chat event", async () => {
    const u = await registerUser(t.graphqlUrl);
    const id = await createConversation(t.graphqlUrl, u.accessToken, { title: 'Old name' });
    const device = authedWs(t.wsUrl, u.accessToken);
    try {
      const updated = new Promise<any>((resolve, reject) => {
        device.subscribe<any>(
          { query: 'subscription { chatEvents { type conversationId conversation { id title archived } } }' },
          { next: (r) => r.data?.chatEvents.type === 'CONVERSATION_UPDATED' && resolve(r.data.chatEvents), error: reject, complete: () => undefined },
        );
      });
      // graphql-ws does not acknowledge a subscription: rename until the event arrives.
      let arrived = false;
      void updated.then(() => (arrived = true));
      for (let n = 1; !arrived; n++) await q(u, UPDATE, { id, input: { title: `New name ${n}` } });
      const event = await updated;
      expect(event).toMatchObject({ type: 'CONVERSATION_UPDATED', conversationId: id, conversation: { id, archived: false } });
      expect(event.conversation.title).toMatch(/^New name \d+$/);
    } finally {
      await device.dispose();
    }
  });

  it('titles a conversation from its first message at a word boundary, never mid-word, and later queries carry it', async () => {
    const u = await registerUser(t.graphqlUrl);
    const words = await createConversation(t.graphqlUrl, u.accessToken);
    const message = 'Could you help me plan a three week trip through northern Portugal and Galicia this autumn please';
    await exchange(u, words, message);
    const title = (await q(u, 'query Q($id: ID!) { conversation(id: $id) { title } }', { id: words })).body.data.conversation.title;
    expect(title).toBe('Could you help me plan a three week trip through northern');
    expect(title.length).toBeLessThanOrEqual(60);
    expect(message.startsWith(title) && message[title.length] === ' ').toBe(true);
    // The list shows it too.
    const listed = (await q(u, LIST, {})).body.data.conversations.edges.find((e: any) => e.node.id === words);
    expect(listed.node.title).toBe(title);

    // One word longer than the bound is cut at the bound; a short message is the title as it is.
    const long = await createConversation(t.graphqlUrl, u.accessToken);
    await exchange(u, long, 'x'.repeat(80));
    expect((await q(u, 'query Q($id: ID!) { conversation(id: $id) { title } }', { id: long })).body.data.conversation.title).toBe('x'.repeat(60));
    const short = await createConversation(t.graphqlUrl, u.accessToken);
    await exchange(u, short, '  Hi   there ');
    expect((await q(u, 'query Q($id: ID!) { conversation(id: $id) { title } }', { id: short })).body.data.conversation.title).toBe('Hi there');
  });
});
