// Streams one assistant reply from a Node program over graphql-ws.
//   PARLEY_URL=http://localhost:4000 PARLEY_TOKEN=<access token> node examples/stream-reply.js "Hello there"
// Creates a conversation, sends the message over HTTP, then prints the reply as it arrives,
// exactly once even when the socket drops and graphql-ws reconnects mid-reply.
'use strict';
const { createClient } = require('graphql-ws');
const WebSocket = require('ws');

const base = process.env.PARLEY_URL ?? 'http://localhost:4000';
const token = process.env.PARLEY_TOKEN;
const message = process.argv[2] ?? 'Hello';

async function gql(query, variables) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(body.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; '));
  return body.data;
}

async function main() {
  const { createConversation } = await gql('mutation { createConversation(input: {}) { id } }');
  const { sendMessage } = await gql('mutation ($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }', {
    input: { conversationId: createConversation.id, content: message },
  });
  const client = createClient({
    url: `${base.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    // A function: graphql-ws calls it on every (re)connect, so a refreshed token can go here.
    connectionParams: () => ({ authorization: `Bearer ${token}` }),
  });
  let text = ''; // the reply so far
  let printed = 0; // how much of it is on stdout
  await new Promise((resolve, reject) => {
    client.subscribe(
      {
        query: 'subscription ($id: ID!, $from: Int) { messageStream(messageId: $id, fromOffset: $from) { offset delta done status error } }',
        variables: {
          id: sendMessage.assistantMessage.id,
          // graphql-ws re-sends this same payload when it resubscribes after a reconnect: a
          // getter, so every (re)subscribe asks only for what is still missing.
          get from() {
            return text.length;
          },
        },
      },
      {
        next: ({ data, errors }) => {
          if (errors) return reject(new Error(errors[0].message));
          const e = data.messageStream;
          text = text.slice(0, e.offset) + e.delta; // merge by offset: text sent twice replaces, never repeats
          if (text.length > printed) {
            process.stdout.write(text.slice(printed));
            printed = text.length;
          }
          if (e.done) process.stdout.write(`\n[${e.status}${e.error ? `: ${e.error}` : ''}]\n`);
        },
        error: reject,
        complete: resolve,
      },
    );
  });
  await client.dispose();
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
