// The bare relay a user would write instead of Parley's stream: graphql-ws over ws, graphql-js,
// no auth, no persistence, relaying CHUNKS deltas per subscription from a zero-delay source
// whose every delta is its production time (`performance.timeOrigin + now()`) and a `;`, the
// same source bench/stream.js gives Parley. Standalone: PORT=0 node bench/peers/ws-relay.js
// prints {"url":"ws://127.0.0.1:<port>/graphql"}. Forked, the parent holds the source back
// ({kind:'arm'}) until every subscription is in place, then releases it ({kind:'open'}).
'use strict';
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { buildSchema } = require('graphql');
const { useServer } = require('graphql-ws/use/ws');
const { WebSocketServer } = require('ws');

const CHUNKS = Number(process.env.CHUNKS ?? 20);
const now = () => performance.timeOrigin + performance.now();

function openGate() {
  return { opened: Promise.resolve(), open() {} };
}
function closedGate() {
  let open;
  const opened = new Promise((r) => (open = r));
  return { opened, open };
}
let gate = openGate();

async function* chunks(opened) {
  await opened;
  for (let i = 0; i < CHUNKS; i++) {
    await new Promise((r) => setImmediate(r));
    yield `${now().toFixed(3)};`;
  }
}

const schema = buildSchema('type Event { offset: Int! delta: String! done: Boolean! } type Query { x: Int } type Subscription { relay(id: ID!): Event! }');
const roots = {
  subscription: {
    relay: async function* () {
      let offset = 0;
      for await (const delta of chunks(gate.opened)) {
        yield { relay: { offset, delta, done: false } };
        offset += delta.length;
      }
      yield { relay: { offset, delta: '', done: true } };
    },
  },
};

const server = http.createServer();
const wss = new WebSocketServer({ server, path: '/graphql' });
useServer({ schema, roots }, wss);
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const url = `ws://127.0.0.1:${server.address().port}/graphql`;
  console.log(JSON.stringify({ url }));
  process.send?.({ kind: 'listening', url });
});
process.on('message', (msg) => {
  if (msg.kind === 'arm') gate = closedGate();
  else if (msg.kind === 'open') gate.open();
  process.send({ kind: `${msg.kind}ed` });
});
process.once('SIGTERM', () => {
  wss.close();
  server.close(() => process.exit(0));
});
