// The client side of bench/stream.js, in its own process: subscribes to every stream, then
// measures delivered events per second and the delay from chunk production to receipt.
'use strict';
const { performance } = require('node:perf_hooks');
const { createClient } = require('graphql-ws');
const WebSocket = require('ws');

const now = () => performance.timeOrigin + performance.now();
const PER_SOCKET = 20;
let current;
let idle = [];

function subscribeAll({ target, wsUrl, token, ids }) {
  const state = { events: 0, delays: [], first: 0, last: 0, pending: ids.length, done: null, clients: [], ended: 0, errors: 0 };
  state.finished = new Promise((r) => (state.done = r));
  for (let i = 0; i < ids.length; i += PER_SOCKET) {
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: token ? { authorization: `Bearer ${token}` } : undefined,
    });
    state.clients.push(client);
    for (const id of ids.slice(i, i + PER_SOCKET)) {
      const query =
        target === 'parley'
          ? { query: 'subscription ($id: ID!) { e: messageStream(messageId: $id) { offset delta done } }', variables: { id } }
          : { query: 'subscription ($id: ID!) { e: relay(id: $id) { offset delta done } }', variables: { id } };
      client.subscribe(query, {
        next: ({ data }) => {
          const t = now();
          for (const stamp of data.e.delta.split(';')) {
            if (!stamp) continue;
            state.events += 1;
            state.first ||= t;
            state.delays.push(t - Number(stamp));
          }
          state.last = t;
          if (data.e.done) state.ended += 1;
        },
        error: (e) => {
          console.error('subscription error', JSON.stringify(e).slice(0, 300));
          state.errors += 1;
          if (--state.pending === 0) state.done();
        },
        complete: () => {
          if (--state.pending === 0) state.done();
        },
      });
    }
  }
  return state;
}

process.on('message', async (msg) => {
  if (msg.kind === 'subscribe') {
    current = subscribeAll(msg);
    await new Promise((r) => setTimeout(r, 3000)); // let every subscription reach the server
    process.send({ kind: 'subscribed' });
  } else if (msg.kind === 'go') {
    process.send({ kind: 'ready' });
  } else if (msg.kind === 'measure') {
    await current.finished;
    const d = current.delays.sort((a, b) => a - b);
    const q = (p) => +d[Math.min(d.length - 1, Math.floor(p * d.length))].toFixed(2);
    const seconds = (current.last - current.first) / 1000;
    for (const c of current.clients) await c.dispose();
    process.send({
      events: current.events,
      // Every stream should end with a done event, its stamps all counted: a shortfall is a lost event, not speed.
      streamsEnded: current.ended,
      streamErrors: current.errors,
      seconds: +seconds.toFixed(3),
      eventsPerSecond: Math.round(current.events / seconds),
      delayP50ms: q(0.5),
      delayP99ms: q(0.99),
    });
  } else if (msg.kind === 'idle') {
    idle = await Promise.all(
      Array.from(
        { length: msg.count },
        () =>
          new Promise((resolve, reject) => {
            const ws = new WebSocket(msg.wsUrl, 'graphql-transport-ws');
            ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${msg.token}` } })));
            ws.once('message', () => resolve(ws));
            ws.once('error', reject);
          }),
      ),
    );
    process.send({ kind: 'idle-open', count: idle.length });
  } else if (msg.kind === 'exit') {
    for (const ws of idle) ws.terminate();
    process.send({ kind: 'bye' });
    process.exit(0);
  }
});
