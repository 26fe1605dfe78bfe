import { bearer, registerUser, type Registered } from '../helpers/auth';
import { authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { gql, useTestServer, type TestServer } from '../helpers/server';

/**
 * Issue 9 item 19: the cost model counted every scalar, so a React client opening a conversation
 * with `messages(first: 100)` and every Message field cost 2,204 and was refused at the default
 * 1,000. Now objects are counted (scalars and enums free), on HTTP and WebSocket alike.
 */
// What Apollo Client sends: __typename everywhere, every Message field through a fragment.
const OPEN_CONVERSATION = `
  query OpenConversation($id: ID!, $first: Int) {
    conversation(id: $id) {
      __typename id title model systemPrompt createdAt updatedAt
      messages(first: $first) {
        __typename
        edges { __typename cursor node { ...MessageFields } }
        pageInfo { __typename hasNextPage endCursor }
      }
    }
  }
  fragment MessageFields on Message {
    __typename id conversationId role content status model error createdAt
    usage { __typename promptTokens completionTokens }
    attachments { __typename id filename mimeType size }
  }`;
// conversation 1 + messages (1 + 100 x (edges, node, usage, attachments, pageInfo))
const OPEN_COST = 1 + 1 + 100 * 5;

const EVERY_CONVERSATION_WITH_MESSAGES = `
  query All {
    conversations(first: 100) {
      edges { cursor node { id title messages(first: 100) { edges { node { id role content } } } } }
    }
  }`;
// 1 + 100 x (edges + node + messages (1 + 100 x (edges + node)))
const ALL_COST = 1 + 100 * (1 + 1 + (1 + 100 * 2));

async function viaWs(t: TestServer, token: string, query: string, variables?: Record<string, unknown>): Promise<{ data?: any; errors?: any[] }> {
  const client = authedWs(t.wsUrl, token);
  try {
    return await new Promise((resolve) => {
      let result: { data?: any; errors?: any[] } = {};
      client.subscribe(
        { query, variables },
        { next: (r) => (result = r as typeof result), error: (errors) => resolve({ errors: errors as any[] }), complete: () => resolve(result) },
      );
    });
  } finally {
    await client.dispose();
  }
}

describe('cost model at the default MAX_QUERY_COST', () => {
  const t = useTestServer();
  let user: Registered;
  let conversationId: string;
  beforeAll(async () => {
    user = await registerUser(t.graphqlUrl);
    conversationId = await createConversation(t.graphqlUrl, user.accessToken, { title: 'cost' });
    const sent = await sendMessage(t.graphqlUrl, user.accessToken, conversationId, 'hello');
    expect(sent.body.errors).toBeUndefined();
    // The reply finishes first, so both transports read the same stored page.
    const client = authedWs(t.wsUrl, user.accessToken);
    await streamReply(client, sent.body.data.sendMessage.assistantMessage.id);
    await client.dispose();
  });

  it('a page of 100 messages with every field is answered, on HTTP and WebSocket', async () => {
    const vars = { id: conversationId, first: 100 };
    const http = await gql(t.graphqlUrl, OPEN_CONVERSATION, vars, bearer(user.accessToken));
    expect(http.body.errors).toBeUndefined();
    expect(http.body.data.conversation.messages.edges.length).toBeGreaterThanOrEqual(1);
    const ws = await viaWs(t, user.accessToken, OPEN_CONVERSATION, vars);
    expect(ws.errors).toBeUndefined();
    expect(ws.data.conversation.messages.edges).toEqual(http.body.data.conversation.messages.edges);
  });

  it('every conversation with 100 messages each is QUERY_TOO_COMPLEX, with the same cost on both transports', async () => {
    const http = await gql(t.graphqlUrl, EVERY_CONVERSATION_WITH_MESSAGES, undefined, bearer(user.accessToken));
    expect(http.status).toBe(400);
    expect(http.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', cost: ALL_COST, maxCost: 1000 });
    expect(http.body.data).toBeUndefined();
    const ws = await viaWs(t, user.accessToken, EVERY_CONVERSATION_WITH_MESSAGES);
    expect(ws.errors![0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', cost: ALL_COST });
  });
});

describe('the page costs the same on both transports', () => {
  // One point under the page's cost, so the refusal reports the computed number.
  const t = useTestServer({ env: { MAX_QUERY_COST: String(OPEN_COST - 1) } });

  it(`costs ${OPEN_COST} on HTTP and WebSocket; a page of 20 (the default) costs less`, async () => {
    const user = await registerUser(t.graphqlUrl);
    const id = await createConversation(t.graphqlUrl, user.accessToken, {});
    const http = await gql(t.graphqlUrl, OPEN_CONVERSATION, { id, first: 100 }, bearer(user.accessToken));
    expect(http.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', cost: OPEN_COST });
    const ws = await viaWs(t, user.accessToken, OPEN_CONVERSATION, { id, first: 100 });
    expect(ws.errors![0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', cost: OPEN_COST });
    const page20 = await gql(t.graphqlUrl, OPEN_CONVERSATION, { id }, bearer(user.accessToken));
    expect(page20.body.errors).toBeUndefined();
  });
});
