import { Kind, OperationTypeNode } from 'graphql';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql as tag, type ApolloCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition, relayStylePagination } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { registerUser, solveCaptcha } from '../helpers/auth';
import { useTestServer } from '../helpers/server';

const LOGIN = tag`mutation Login($input: LoginInput!) { login(input: $input) { accessToken user { id email } } }`;
const CREATE = tag`mutation Create { createConversation(input: {}) { id title } }`;
const SEND = tag`mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { userMessage { id content } assistantMessage { id status } } }`;
const CANCEL = tag`mutation Cancel($id: ID!) { cancelGeneration(messageId: $id) { id status content } }`;
const STREAM = tag`subscription Stream($id: ID!, $from: Int) { messageStream(messageId: $id, fromOffset: $from) { messageId offset delta done status } }`;
const HISTORY = tag`query History($id: ID!, $last: Int, $before: String) {
  conversation(id: $id) { id messages(last: $last, before: $before) { edges { cursor node { id role content } } pageInfo { hasPreviousPage hasNextPage startCursor endCursor } } }
}`;
const CONVERSATION = tag`query Conversation($id: ID!) { conversation(id: $id) { id title messages { edges { node { id role content status } } } } }`;

/** An Apollo Client wired the way a React app wires it: HTTP for queries and mutations, graphql-ws for subscriptions. */
function apollo(httpUrl: string, wsUrl: string, getToken: () => string | undefined, opts: { cache?: InMemoryCache; httpOps?: string[] } = {}) {
  const wsClient = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: () => ({ authorization: getToken() ? `Bearer ${getToken()}` : undefined }),
  });
  const auth = new ApolloLink((operation, forward) => {
    const token = getToken();
    opts.httpOps?.push(operation.operationName ?? '');
    operation.setContext(({ headers = {} }: { headers?: Record<string, string> }) => ({
      headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    }));
    return forward(operation);
  });
  const link = ApolloLink.split(
    ({ query }) => {
      const def = getMainDefinition(query);
      return def.kind === Kind.OPERATION_DEFINITION && def.operation === OperationTypeNode.SUBSCRIPTION;
    },
    new GraphQLWsLink(wsClient),
    auth.concat(new HttpLink({ uri: httpUrl })),
  );
  return { client: new ApolloClient({ link, cache: opts.cache ?? new InMemoryCache() }), wsClient };
}

function collect(client: ApolloClient, variables: Record<string, unknown>, onEvent?: (e: any) => void): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const events: any[] = [];
    client.subscribe({ query: STREAM, variables }).subscribe({
      next: (r) => {
        if (r.error) return reject(r.error);
        const event = (r.data as { messageStream: unknown }).messageStream;
        events.push(event);
        onEvent?.(event);
      },
      error: reject,
      complete: () => resolve(events),
    });
  });
}

describe('an Apollo Client app', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '15' } });

  it('logs in, sends, streams, cancels, reloads and resumes', async () => {
    const account = await registerUser(t.graphqlUrl);
    const session: { token?: string } = {};
    const app = apollo(t.graphqlUrl, t.wsUrl, () => session.token);

    const login = await app.client.mutate({
      mutation: LOGIN,
      variables: { input: { email: account.email, password: account.password, captcha: await solveCaptcha(t.graphqlUrl) } },
    });
    session.token = (login.data as any).login.accessToken;
    const conversationId = ((await app.client.mutate({ mutation: CREATE })).data as any).createConversation.id;

    // Send and stream a reply to the end.
    const sent = (await app.client.mutate({ mutation: SEND, variables: { input: { conversationId, content: 'streamed through apollo' } } })).data as any;
    const first = await collect(app.client, { id: sent.sendMessage.assistantMessage.id });
    expect(first.map((e) => e.delta).join('')).toBe('Echo: streamed through apollo');
    expect(first[first.length - 1]).toMatchObject({ done: true, status: 'COMPLETE' });

    // Send a long one and cancel it mid-stream.
    const long = Array.from({ length: 80 }, (_, i) => `t${i}`).join(' ');
    const second = (await app.client.mutate({ mutation: SEND, variables: { input: { conversationId, content: long } } })).data as any;
    let cancel: Promise<any> | undefined;
    const partial = await collect(app.client, { id: second.sendMessage.assistantMessage.id }, (e) => {
      if (!cancel && e.offset > 20) cancel = app.client.mutate({ mutation: CANCEL, variables: { id: second.sendMessage.assistantMessage.id } });
    });
    const cancelled = (await cancel).data.cancelGeneration;
    expect(cancelled.status).toBe('CANCELLED');
    expect(partial.map((e) => e.delta).join('')).toBe(cancelled.content);
    await app.wsClient.dispose();

    // "Reload": a fresh client with the same token reads the conversation and resumes a stream from an offset.
    const reloaded = apollo(t.graphqlUrl, t.wsUrl, () => session.token);
    const conv = ((await reloaded.client.query({ query: CONVERSATION, variables: { id: conversationId } })).data as any).conversation;
    expect(conv.title).toBe('streamed through apollo');
    expect(conv.messages.edges.map((e: any) => e.node.status)).toEqual(['COMPLETE', 'COMPLETE', 'COMPLETE', 'CANCELLED']);
    const resumed = await collect(reloaded.client, { id: sent.sendMessage.assistantMessage.id, from: 6 });
    expect(resumed.map((e) => e.delta).join('')).toBe('streamed through apollo');
    expect(resumed[resumed.length - 1].done).toBe(true);
    await reloaded.wsClient.dispose();
  });

  it('shows the newest messages first and pages history backwards with relayStylePagination and fetchMore({ before })', async () => {
    const account = await registerUser(t.graphqlUrl);
    // How a chat screen's cache is set up: one list per conversation, pages merged by cursor.
    const cache = new InMemoryCache({ typePolicies: { Conversation: { fields: { messages: relayStylePagination() } } } });
    const app = apollo(t.graphqlUrl, t.wsUrl, () => account.accessToken, { cache });
    const conversationId = ((await app.client.mutate({ mutation: CREATE })).data as any).createConversation.id;
    const sent: string[] = [];
    for (let i = 0; i < 6; i++) {
      const content = `message ${i}`;
      const reply = (await app.client.mutate({ mutation: SEND, variables: { input: { conversationId, content } } })).data as any;
      await collect(app.client, { id: reply.sendMessage.assistantMessage.id });
      sent.push(content, `Echo: ${content}`);
    }

    const history = app.client.watchQuery({ query: HISTORY, variables: { id: conversationId, last: 5 } });
    const firstPage = await new Promise<any>((resolve, reject) => {
      const sub = history.subscribe({
        next: (r) => {
          if (r.error) reject(r.error);
          else if (r.data && !r.loading) resolve(r.data);
        },
        error: reject,
      });
      afterDone.push(() => sub.unsubscribe());
    });
    expect(firstPage.conversation.messages.edges.map((e: any) => e.node.content)).toEqual(sent.slice(7));
    expect(firstPage.conversation.messages.pageInfo.hasPreviousPage).toBe(true);

    // Scrolling up: each fetchMore asks for the page before the oldest one shown; the cache
    // (what the screen renders) merges it in front.
    const shown = () => app.client.readQuery<any>({ query: HISTORY, variables: { id: conversationId, last: 5 } }).conversation.messages;
    let fetches = 0;
    for (let info = firstPage.conversation.messages.pageInfo; info.hasPreviousPage && fetches < 10; fetches++) {
      await history.fetchMore({ variables: { before: info.startCursor } });
      info = shown().pageInfo;
    }
    expect(fetches).toBe(2); // 5 + 5 + 2
    const merged = shown();
    expect(merged.edges.map((e: any) => e.node.content)).toEqual(sent);
    expect(new Set(merged.edges.map((e: any) => e.node.id)).size).toBe(12);
    expect(merged.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: false });
    await app.wsClient.dispose();
  });

  const afterDone: (() => void)[] = [];
  afterEach(() => afterDone.splice(0).forEach((done) => done()));
});

const MESSAGE = 'id role content status clientMessageId';
const PAGE = tag`query Page($id: ID!) { conversation(id: $id) { id title updatedAt messages(first: 50) { edges { cursor node { ${MESSAGE} } } pageInfo { hasNextPage endCursor } } } }`;
const PAYLOAD = `userMessage { ${MESSAGE} } assistantMessage { ${MESSAGE} } userMessageEdge { cursor node { ${MESSAGE} } } assistantMessageEdge { cursor node { ${MESSAGE} } } conversation { id title updatedAt }`;
const SEND_IDEMPOTENT = tag`mutation SendIdempotent($input: SendMessageInput!) { sendMessage(input: $input) { ${PAYLOAD} } }`;
const REGENERATE = tag`mutation Regenerate($id: ID!) { regenerateReply(messageId: $id) { ${PAYLOAD} } }`;
const EDIT = tag`mutation Edit($id: ID!, $content: String!) { editMessage(messageId: $id, content: $content) { ${PAYLOAD} } }`;
const STREAM_FINAL = tag`subscription StreamFinal($id: ID!) { messageStream(messageId: $id) { messageId offset delta done status message { ${MESSAGE} } } }`;

type Edge = { cursor: string; node: { id: string; role: string; content: string; status: string } };

/**
 * The `update` a chat screen gives sendMessage, regenerateReply and editMessage: the page keeps
 * every edge up to the payload's user message, then that message and the new reply (a retry or
 * the optimistic copy being replaced leaves no duplicate). No refetch.
 */
function placeReply(cache: ApolloCache, conversationId: string, payload: any) {
  cache.updateQuery({ query: PAGE, variables: { id: conversationId } }, (data: any) => {
    if (!data) return data;
    const edges: Edge[] = data.conversation.messages.edges;
    const at = edges.findIndex((e) => e.node.id === payload.userMessage.id);
    const kept = (at >= 0 ? edges.slice(0, at) : edges).filter((e) => !e.node.id.startsWith('optimistic-'));
    return {
      conversation: {
        ...data.conversation,
        messages: { ...data.conversation.messages, edges: [...kept, payload.userMessageEdge, payload.assistantMessageEdge] },
      },
    };
  });
}

function streamToEnd(client: ApolloClient, id: string): Promise<any> {
  return new Promise((resolve, reject) => {
    let last: any;
    client.subscribe({ query: STREAM_FINAL, variables: { id } }).subscribe({
      next: (r) => (r.error ? reject(r.error) : (last = (r.data as any).messageStream)),
      error: reject,
      complete: () => resolve(last),
    });
  });
}

describe('an Apollo Client app with a normalized cache', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '5' } });

  it('sends optimistically with a clientMessageId, regenerates and edits, and the cache shows each final reply with no refetch', async () => {
    const account = await registerUser(t.graphqlUrl);
    const httpOps: string[] = [];
    const cache = new InMemoryCache({ typePolicies: { Conversation: { fields: { messages: relayStylePagination() } } } });
    const app = apollo(t.graphqlUrl, t.wsUrl, () => account.accessToken, { cache, httpOps });
    const conversationId = ((await app.client.mutate({ mutation: CREATE })).data as any).createConversation.id;
    await app.client.query({ query: PAGE, variables: { id: conversationId } });
    const page = () => app.client.readQuery<{ conversation: any }>({ query: PAGE, variables: { id: conversationId } })!.conversation;

    // Send: the optimistic copy shows at once, then the server's payload replaces it.
    const optimisticUser = { __typename: 'Message', id: 'optimistic-user', role: 'USER', content: 'hi apollo', status: 'COMPLETE', clientMessageId: 'c-1' };
    const optimisticReply = { ...optimisticUser, id: 'optimistic-reply', role: 'ASSISTANT', content: '', status: 'STREAMING', clientMessageId: null };
    let shownOptimistically: string[] = [];
    const send = () =>
      app.client.mutate({
        mutation: SEND_IDEMPOTENT,
        variables: { input: { conversationId, content: 'hi apollo', clientMessageId: 'c-1' } },
        optimisticResponse: {
          sendMessage: {
            __typename: 'SendMessagePayload',
            userMessage: optimisticUser,
            assistantMessage: optimisticReply,
            userMessageEdge: { __typename: 'MessageEdge', cursor: 'optimistic-1', node: optimisticUser },
            assistantMessageEdge: { __typename: 'MessageEdge', cursor: 'optimistic-2', node: optimisticReply },
            conversation: { __typename: 'Conversation', id: conversationId, title: 'hi apollo', updatedAt: new Date().toISOString() },
          },
        },
        update: (c, { data }) => {
          placeReply(c, conversationId, (data as any).sendMessage);
          if ((data as any).sendMessage.userMessage.id.startsWith('optimistic-')) shownOptimistically = page().messages.edges.map((e: Edge) => e.node.id);
        },
      });
    const sent = ((await send()).data as any).sendMessage;
    expect(shownOptimistically).toEqual(['optimistic-user', 'optimistic-reply']);
    expect(page().title).toBe('hi apollo');
    expect((await streamToEnd(app.client, sent.assistantMessage.id)).message.status).toBe('COMPLETE');
    expect(page().messages.edges.map((e: Edge) => [e.node.id, e.node.content, e.node.status])).toEqual([
      [sent.userMessage.id, 'hi apollo', 'COMPLETE'],
      [sent.assistantMessage.id, 'Echo: hi apollo', 'COMPLETE'],
    ]);
    // A retry (the first response was "lost") gets the same messages: the cache still holds two.
    const retried = ((await send()).data as any).sendMessage;
    expect([retried.userMessage.id, retried.assistantMessage.id]).toEqual([sent.userMessage.id, sent.assistantMessage.id]);
    expect(page().messages.edges).toHaveLength(2);

    // Regenerate: the old reply leaves the page, the new one fills in from the stream's final event.
    const regen = (
      (
        await app.client.mutate({
          mutation: REGENERATE,
          variables: { id: sent.assistantMessage.id },
          update: (c, { data }) => placeReply(c, conversationId, (data as any).regenerateReply),
        })
      ).data as any
    ).regenerateReply;
    await streamToEnd(app.client, regen.assistantMessage.id);
    expect(page().messages.edges.map((e: Edge) => [e.node.id, e.node.content, e.node.status])).toEqual([
      [sent.userMessage.id, 'hi apollo', 'COMPLETE'],
      [regen.assistantMessage.id, 'Echo: hi apollo', 'COMPLETE'],
    ]);

    // Edit: the user message's new text and the new reply, both through normalization.
    const edited = (
      (
        await app.client.mutate({
          mutation: EDIT,
          variables: { id: sent.userMessage.id, content: 'hello again' },
          update: (c, { data }) => placeReply(c, conversationId, (data as any).editMessage),
        })
      ).data as any
    ).editMessage;
    await streamToEnd(app.client, edited.assistantMessage.id);
    expect(page().messages.edges.map((e: Edge) => [e.node.id, e.node.content, e.node.status])).toEqual([
      [sent.userMessage.id, 'hello again', 'COMPLETE'],
      [edited.assistantMessage.id, 'Echo: hello again', 'COMPLETE'],
    ]);
    // The page was fetched once; everything after came from mutation payloads and stream events.
    expect(httpOps).toEqual(['Create', 'Page', 'SendIdempotent', 'SendIdempotent', 'Regenerate', 'Edit']);
    await app.wsClient.dispose();
  });
});

const CHAT_EVENTS = tag`subscription ChatEvents { chatEvents { type conversationId conversation { id title updatedAt } message { ${MESSAGE} } } }`;
const MESSAGE_FRAGMENT = tag`fragment FinalMessage on Message { id content status }`;

describe('an Apollo Client app on a second device', () => {
  const t = useTestServer({ env: { ECHO_TOKEN_DELAY_MS: '5' } });

  it("sees the first device's conversation and finished reply through chatEvents, in its normalized cache", async () => {
    const account = await registerUser(t.graphqlUrl);
    const laptop = apollo(t.graphqlUrl, t.wsUrl, () => account.accessToken);
    const phoneOps: string[] = [];
    const phone = apollo(t.graphqlUrl, t.wsUrl, () => account.accessToken, { httpOps: phoneOps });
    const seen: any[] = [];
    const checks: (() => void)[] = [];
    const subscription = phone.client.subscribe({ query: CHAT_EVENTS }).subscribe({
      next: (r) => {
        seen.push((r.data as any).chatEvents);
        for (const check of checks) check();
      },
    });
    const eventOf = (pred: (e: any) => boolean) =>
      new Promise<any>((resolve) => {
        const check = () => {
          const hit = seen.find(pred);
          if (hit) resolve(hit);
        };
        checks.push(check);
        check();
      });
    // The server does not acknowledge a subscription: the laptop creates conversations until the phone sees one.
    let conversationId = '';
    let live = false;
    void eventOf(() => true).then(() => (live = true));
    while (!live) {
      conversationId = ((await laptop.client.mutate({ mutation: CREATE })).data as any).createConversation.id;
      await Promise.race([eventOf((e) => e.conversationId === conversationId), new Promise((resolve) => setTimeout(resolve, 100))]);
    }
    conversationId = seen[0].conversationId;
    const sent = (
      (await laptop.client.mutate({ mutation: SEND_IDEMPOTENT, variables: { input: { conversationId, content: 'from the laptop', clientMessageId: 'l-1' } } }))
        .data as any
    ).sendMessage;
    await eventOf((e) => e.type === 'MESSAGE_FINISHED' && e.message?.id === sent.assistantMessage.id);
    expect(phone.client.readFragment({ fragment: MESSAGE_FRAGMENT, id: `Message:${sent.assistantMessage.id}` })).toEqual({
      __typename: 'Message',
      id: sent.assistantMessage.id,
      content: 'Echo: from the laptop',
      status: 'COMPLETE',
    });
    expect(phone.client.readFragment({ fragment: tag`fragment T on Conversation { title }`, id: `Conversation:${conversationId}` })).toEqual({
      __typename: 'Conversation',
      title: 'from the laptop',
    });
    expect(phoneOps).toEqual([]); // nothing fetched: the events filled the cache
    subscription.unsubscribe();
    await Promise.all([laptop.wsClient.dispose(), phone.wsClient.dispose()]);
  });
});
