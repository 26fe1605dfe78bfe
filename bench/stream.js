// Streaming benchmark (`npm run bench:stream`): N concurrent replies from a zero-delay provider
// whose every chunk carries the time it was produced, delivered over graphql-ws to a client in
// another process, beside a bare graphql-ws server relaying the same chunks in the same run;
// then the memory each idle authenticated WebSocket costs. Prints JSON for BENCHMARKS.md.
'use strict';
require('reflect-metadata');
const { fork } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { buildSchema } = require('graphql');
const { useServer } = require('graphql-ws/use/ws');
const { WebSocketServer } = require('ws');
const { solveChallenge } = require('altcha-lib/v1');
const { loadConfig } = require('../dist/src/config');
const { openDatabase } = require('../dist/src/db/orm');
const { ENTITIES } = require('../dist/src/entities');
const { createLogger } = require('../dist/src/logging/logger');
const { startServer } = require('../dist/src/server');
const { removeDataDir } = require('./lib');

const STREAMS = Number(process.env.STREAMS ?? 1000);
const CHUNKS = Number(process.env.CHUNKS ?? 20);
const IDLE_SOCKETS = Number(process.env.IDLE_SOCKETS ?? 500);
const now = () => performance.timeOrigin + performance.now();

function gate() {
  let open;
  const opened = new Promise((r) => (open = r));
  return { opened, open };
}

/** The same chunks for both servers: each delta is its production time, then a separator. */
async function* chunks(opened) {
  await opened;
  for (let i = 0; i < CHUNKS; i++) {
    await new Promise((r) => setImmediate(r));
    yield `${now().toFixed(3)};`;
  }
}

async function gql(url, query, variables, token) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

function bareRelay(opened) {
  const schema = buildSchema('type Event { offset: Int! delta: String! done: Boolean! } type Query { x: Int } type Subscription { relay(id: ID!): Event! }');
  const root = {
    relay: async function* () {
      let offset = 0;
      for await (const delta of chunks(opened)) {
        yield { relay: { offset, delta, done: false } };
        offset += delta.length;
      }
      yield { relay: { offset, delta: '', done: true } };
    },
  };
  const server = http.createServer();
  const wss = new WebSocketServer({ server, path: '/graphql' });
  useServer({ schema, roots: { subscription: root } }, wss);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, wss, url: `ws://127.0.0.1:${server.address().port}/graphql` })));
}

/** A CPU profile of this process between start and stop (node:inspector). */
async function startProfile() {
  const inspector = require('node:inspector');
  const session = new inspector.Session();
  session.connect();
  const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await post('Profiler.stop');
      fs.writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

function heap() {
  global.gc?.();
  global.gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

async function main() {
  if (!global.gc) console.error('run with --expose-gc for the memory figure');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-stream-'));
  fs.chmodSync(dataDir, 0o711);
  const config = loadConfig({
    APP_ENV: 'test',
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    CAPTCHA_DIFFICULTY: '1000',
    DB_POOL_MAX: '20',
    RATE_LIMIT_SCALE: '1000000',
    CHAT_MAX_CONCURRENT_STREAMS: '100000',
    WS_MAX_CONNECTIONS_PER_IP: '100000',
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '100',
    RATE_LIMIT_WS_SUBSCRIBE: '100000/60',
  });
  const logger = createLogger({ level: 'error' });
  const db = await openDatabase(config, logger, { entities: ENTITIES });
  const parleyGate = gate();
  const provider = {
    name: 'bench',
    async *stream() {
      for await (const d of chunks(parleyGate.opened)) yield { type: 'delta', text: d };
    },
  };
  const server = await startServer({ config, logger, db, providerForBenchmark: provider });
  const bareGate = gate();
  const bare = await bareRelay(bareGate.opened);
  const url = `${server.url}/graphql`;
  const results = { node: process.version, cpus: os.cpus().length, date: new Date().toISOString(), streams: STREAMS, chunksPerStream: CHUNKS };
  try {
    const c = (await gql(url, '{ captchaChallenge { challenge } }')).captchaChallenge.challenge;
    const s = await solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
    const captcha = Buffer.from(
      JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: s.number, salt: c.salt, signature: c.signature }),
    ).toString('base64');
    const token = (
      await gql(url, 'mutation R($i: RegisterInput!) { register(input: $i) { accessToken } }', {
        i: { email: `stream-${Date.now()}@example.com`, password: 'correct horse battery staple 42', captcha },
      })
    ).register.accessToken;
    const conversationId = (await gql(url, 'mutation { createConversation(input: {}) { id } }', {}, token)).createConversation.id;
    const messageIds = [];
    for (let i = 0; i < STREAMS; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, STREAMS - i) }, () =>
          gql(url, 'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { assistantMessage { id } } }', { i: { conversationId, content: 'go' } }, token),
        ),
      );
      messageIds.push(...batch.map((b) => b.sendMessage.assistantMessage.id));
    }

    const child = fork(path.join(__dirname, 'stream-client.js'), [], { stdio: 'inherit' });
    const ask = (msg) =>
      new Promise((resolve) => {
        child.once('message', resolve);
        child.send(msg);
      });
    await ask({ kind: 'subscribe', target: 'parley', wsUrl: server.url.replace('http', 'ws') + '/graphql', token, ids: messageIds });
    await ask({ kind: 'go' });
    // Open the gate and wait for the child's measurement (PROFILE=file: CPU profile of this phase).
    const profiler = process.env.PROFILE ? await startProfile() : undefined;
    const parleyResult = await new Promise((resolve) => {
      child.once('message', resolve);
      parleyGate.open();
      child.send({ kind: 'measure' });
    });
    if (profiler) await profiler.stop(process.env.PROFILE);
    await ask({ kind: 'subscribe', target: 'bare', wsUrl: bare.url, ids: messageIds });
    await ask({ kind: 'go' });
    const bareResult = await new Promise((resolve) => {
      child.once('message', resolve);
      bareGate.open();
      child.send({ kind: 'measure' });
    });
    results.parley = parleyResult;
    results.bareRelay = bareResult;
    results.eventsPerSecondRatio = +(parleyResult.eventsPerSecond / bareResult.eventsPerSecond).toFixed(3);

    const before = heap();
    await ask({ kind: 'idle', wsUrl: server.url.replace('http', 'ws') + '/graphql', token, count: IDLE_SOCKETS });
    await new Promise((r) => setTimeout(r, 500));
    const after = heap();
    results.idleSockets = IDLE_SOCKETS;
    results.bytesPerIdleAuthenticatedSocket = Math.round((after - before) / IDLE_SOCKETS);
    await ask({ kind: 'exit' });
  } finally {
    await server.stop();
    bare.wss.close();
    bare.server.close();
    await db.close();
    removeDataDir(dataDir);
  }
  console.log(JSON.stringify(results, null, 2));
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
