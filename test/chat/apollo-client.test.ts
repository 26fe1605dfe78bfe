import { Kind, OperationTypeNode } from 'graphql';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql as tag } from '@apollo/client';
import { relayStylePagination } from '@apollo/client/utilities';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
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
function apollo(httpUrl: string, wsUrl: string, getToken: () => string | undefined, cache = new InMemoryCache()) {
  const wsClient = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: () => ({ authorization: getToken() ? `Bearer ${getToken()}` : undefined }),
  });
  const auth = new ApolloLink((operation, forward) => {
    const token = getToken();
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
  return { client: new ApolloClient({ link, cache }), wsClient };
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
    const app = apollo(t.graphqlUrl, t.wsUrl, () => account.accessToken, cache);
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
