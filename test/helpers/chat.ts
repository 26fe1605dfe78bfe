import type { Client } from 'graphql-ws';
import { bearer } from './auth';
import { gql } from './server';
import { wsClient } from './ws';

export const MESSAGE_FIELDS = 'id conversationId role content status model error usage { promptTokens completionTokens } attachments { id } createdAt';

export async function createConversation(graphqlUrl: string, token: string, input: Record<string, unknown> = {}): Promise<string> {
  const res = await gql(graphqlUrl, 'mutation C($i: CreateConversationInput!) { createConversation(input: $i) { id } }', { i: input }, bearer(token));
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.createConversation.id;
}

export async function sendMessage(graphqlUrl: string, token: string, conversationId: string, content: string) {
  return gql(
    graphqlUrl,
    `mutation S($i: SendMessageInput!) { sendMessage(input: $i) { userMessage { ${MESSAGE_FIELDS} } assistantMessage { ${MESSAGE_FIELDS} } } }`,
    { i: { conversationId, content } },
    bearer(token),
  );
}

export interface StreamEvent {
  messageId: string;
  offset: number;
  delta: string;
  done: boolean;
  status: string;
  usage: { promptTokens: number; completionTokens: number } | null;
  error: string | null;
}

/** A signed-in graphql-ws client, as a browser app or integrator would open it. */
export function authedWs(wsUrl: string, token: string): Client {
  return wsClient(wsUrl, { connectionParams: { authorization: `Bearer ${token}` } });
}

/**
 * A signed-in graphql-ws client once the server acknowledged its connection, and the code its
 * socket closes with: a test that expects a live close (4403) revokes only after the ack, so
 * the close comes from the live path, not from a refused connection_init.
 */
export async function acknowledgedWs(wsUrl: string, token: string): Promise<{ client: Client; closed: Promise<number> }> {
  const client = authedWs(wsUrl, token);
  const closed = new Promise<number>((resolve) => client.on('closed', (e) => resolve((e as { code: number }).code)));
  await new Promise<void>((resolve, reject) => {
    client.on('connected', () => resolve());
    void closed.then((code) => reject(new Error(`the socket closed with ${code} before the server acknowledged it`)));
  });
  return { client, closed };
}

/** Follows a reply until at least `chars` characters of it were streamed; resolves with the offset seen. */
export function streamedPast(client: Client, messageId: string, chars = 1): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    streamReply(client, messageId, 0, (e) => {
      seen = e.offset + e.delta.length;
      if (seen >= chars) resolve(seen);
    }).then(() => reject(new Error(`the reply ended at offset ${seen}, before ${chars} characters`)), reject);
  });
}

/** Follows a reply over messageStream until it completes; rejects with the GraphQL errors. */
export function streamReply(client: Client, messageId: string, fromOffset = 0, onEvent?: (e: StreamEvent) => void): Promise<StreamEvent[]> {
  return new Promise((resolve, reject) => {
    const events: StreamEvent[] = [];
    client.subscribe<{ messageStream: StreamEvent }>(
      {
        query:
          'subscription M($id: ID!, $from: Int) { messageStream(messageId: $id, fromOffset: $from) { messageId offset delta done status usage { promptTokens completionTokens } error } }',
        variables: { id: messageId, from: fromOffset },
      },
      {
        next: (r) => {
          if (r.errors) return reject(r.errors);
          events.push(r.data!.messageStream);
          onEvent?.(r.data!.messageStream);
        },
        error: reject,
        complete: () => resolve(events),
      },
    );
  });
}

/** Concatenates deltas, checking each starts where the previous ended. */
export function assemble(events: StreamEvent[], fromOffset = 0): string {
  let text = '';
  for (const e of events) {
    if (e.offset !== fromOffset + text.length) throw new Error(`event at ${e.offset}, expected ${fromOffset + text.length}`);
    text += e.delta;
  }
  return text;
}
