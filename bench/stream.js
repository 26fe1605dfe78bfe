// Streaming benchmark (`npm run bench:stream`, and scenario (c) of `npm run bench`): N
// concurrent replies from a zero-delay provider whose every chunk carries the time it was
// produced, delivered over graphql-ws to a client in another process, beside the bare relay of
// bench/peers/ws-relay.js (its own process, the same chunk source) in the same run, ROUNDS
// rounds alternating; then the memory each idle authenticated WebSocket costs. Parley runs in
// this process in prod mode, logging at info to /dev/null; on DATABASE_URL when given, else on a
// throwaway embedded PostgreSQL. Prints JSON (and writes it to RESULT_FILE when set).
'use strict';
require('reflect-metadata');
const { fork } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { loadConfig } = require('../dist/src/config');
const { startEmbeddedPostgres } = require('../dist/src/db/embedded-postgres');
const { openDatabase } = require('../dist/src/db/orm');
const { ENTITIES, SEALED_ENTITIES } = require('../dist/src/entities');
const { createLogger } = require('../dist/src/logging/logger');
const { startServer } = require('../dist/src/server');
const { prodEnv, gql: post, solvedCaptcha } = require('./compare-lib');
const { removeDataDir } = require('./lib');

const STREAMS = Number(process.env.STREAMS ?? 1000);
const CHUNKS = Number(process.env.CHUNKS ?? 20);
const IDLE_SOCKETS = Number(process.env.IDLE_SOCKETS ?? 500);
const ROUNDS = Number(process.env.ROUNDS ?? 1);
const now = () => performance.timeOrigin + performance.now();

function gate() {
  let open;
  const opened = new Promise((r) => (open = r));
  return { opened, open };
}

/** The same chunks as the peer's: each delta is its production time, then a separator. */
async function* chunks(opened) {
  await opened;
  for (let i = 0; i < CHUNKS; i++) {
    await new Promise((r) => setImmediate(r));
    yield `${now().toFixed(3)};`;
  }
}

async function gql(url, query, variables, token) {
  const body = await post(url, query, variables, token);
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** A forked child answering each message with one reply. */
function ipc(child) {
  return (msg) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send(msg);
    });
}

/** A CPU profile of this process between start and stop (node:inspector). */
async function startProfile() {
  const inspector = require('node:inspector');
  const session = new inspector.Session();
  session.connect();
  const call = (method, params) => new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await call('Profiler.enable');
  await call('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await call('Profiler.stop');
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

/** Parley in this process, prod mode; the provider waits for the current round's gate. */
async function startParley(databaseUrl) {
  const config = loadConfig({
    ...prodEnv(databaseUrl, randomBytes(32).toString('hex')),
    PORT: '0',
    DB_POOL_MAX: '20',
    RATE_LIMIT_SCALE: '1000000',
    CHAT_MAX_CONCURRENT_STREAMS: '100000',
    WS_MAX_CONNECTIONS_PER_IP: '100000',
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '100',
    RATE_LIMIT_WS_SUBSCRIBE: '100000/60',
    // Replies wait at the gate while the others are created and subscribed (over 30 s on a busy machine).
    AI_FIRST_TOKEN_TIMEOUT_MS: '600000',
  });
  const logger = createLogger({ level: config.logLevel, stream: fs.createWriteStream('/dev/null') });
  const db = await openDatabase(config, logger, { entities: ENTITIES, sealed: SEALED_ENTITIES });
  const parley = { gate: gate() };
  const provider = {
    name: 'bench',
    async *stream() {
      for await (const d of chunks(parley.gate.opened)) yield { type: 'delta', text: d };
    },
  };
  parley.server = await startServer({ config, logger, db, providerForBenchmark: provider });
  parley.url = `${parley.server.url}/graphql`;
  parley.wsUrl = parley.url.replace('http', 'ws');
  parley.stop = async () => {
    await parley.server.stop();
    await db.close();
  };
  return parley;
}

/** STREAMS replies waiting at the gate, in a fresh conversation. */
async function startReplies(url, token) {
  const conversationId = (await gql(url, 'mutation { createConversation(input: {}) { id } }', {}, token)).createConversation.id;
  const ids = [];
  for (let i = 0; i < STREAMS; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, STREAMS - i) }, () =>
        gql(url, 'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { assistantMessage { id } } }', { i: { conversationId, content: 'go' } }, token),
      ),
    );
    ids.push(...batch.map((b) => b.sendMessage.assistantMessage.id));
  }
  return ids;
}

/** Subscribes every stream, releases the source, and resolves the client's measurement. */
async function measure(ask, subscribe, release) {
  await ask(subscribe);
  await ask({ kind: 'go' });
  const result = ask({ kind: 'measure' });
  await release();
  return result;
}

async function rounds(parley, relay, client, token) {
  const out = { parley: [], bareRelay: [] };
  for (let r = 0; r < ROUNDS; r++) {
    parley.gate = gate();
    const ids = await startReplies(parley.url, token);
    const profiler = process.env.PROFILE && r === 0 ? await startProfile() : undefined;
    out.parley.push(await measure(client, { kind: 'subscribe', target: 'parley', wsUrl: parley.wsUrl, token, ids }, () => parley.gate.open()));
    if (profiler) await profiler.stop(process.env.PROFILE);
    await relay({ kind: 'arm' });
    out.bareRelay.push(await measure(client, { kind: 'subscribe', target: 'bare', wsUrl: relay.url, ids }, () => relay({ kind: 'open' })));
  }
  return out;
}

const med = (rs, key) => rs.map((r) => r[key]).sort((a, b) => a - b)[Math.floor(rs.length / 2)];
const summary = (rs) => ({
  // Fewer than all (a stream that ended in an error, or without all its chunks) is a fault, not speed.
  chunksDelivered: `${Math.min(...rs.map((r) => r.events))} of ${STREAMS * CHUNKS}`,
  streamErrors: rs.reduce((a, r) => a + r.streamErrors, 0),
  eventsPerSecond: med(rs, 'eventsPerSecond'),
  delayP50ms: med(rs, 'delayP50ms'),
  delayP99ms: med(rs, 'delayP99ms'),
  rounds: rs,
});

async function run(databaseUrl) {
  const parley = await startParley(databaseUrl);
  const relayChild = fork(path.join(__dirname, 'peers', 'ws-relay.js'), [], {
    env: { ...process.env, CHUNKS: String(CHUNKS), PORT: '0' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const relay = ipc(relayChild);
  relay.url = (await new Promise((resolve) => relayChild.once('message', resolve))).url;
  const clientChild = fork(path.join(__dirname, 'stream-client.js'), [], { stdio: 'inherit' });
  const client = ipc(clientChild);
  const results = { node: process.version, cpus: os.cpus().length, date: new Date().toISOString(), streams: STREAMS, chunksPerStream: CHUNKS };
  try {
    const token = (
      await gql(parley.url, 'mutation R($i: RegisterInput!) { register(input: $i) { accessToken } }', {
        i: { email: `stream-${Date.now()}@example.com`, password: 'correct horse battery staple 42', captcha: await solvedCaptcha(parley.server.url) },
      })
    ).register.accessToken;
    const measured = await rounds(parley, relay, client, token);
    results.parley = summary(measured.parley);
    results.bareRelay = summary(measured.bareRelay);
    results.eventsPerSecondRatio = +(results.parley.eventsPerSecond / results.bareRelay.eventsPerSecond).toFixed(3);

    const before = heap();
    await client({ kind: 'idle', wsUrl: parley.wsUrl, token, count: IDLE_SOCKETS });
    await new Promise((r) => setTimeout(r, 500));
    results.idleSockets = IDLE_SOCKETS;
    results.bytesPerIdleAuthenticatedSocket = Math.round((heap() - before) / IDLE_SOCKETS);
    await client({ kind: 'exit' });
  } finally {
    relayChild.kill('SIGTERM');
    await parley.stop();
  }
  return results;
}

async function main() {
  if (!global.gc) console.error('run with --expose-gc for the memory figure');
  let dataDir;
  let cluster;
  if (!process.env.DATABASE_URL) {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-stream-'));
    fs.chmodSync(dataDir, 0o711);
    cluster = await startEmbeddedPostgres({ dataDir, logger: createLogger({ level: 'warn', stream: process.stderr }) });
  }
  let results;
  try {
    results = await run(process.env.DATABASE_URL ?? cluster.url);
  } finally {
    await cluster?.stop();
    if (dataDir) removeDataDir(dataDir);
  }
  if (process.env.RESULT_FILE) fs.writeFileSync(process.env.RESULT_FILE, JSON.stringify(results));
  console.log(JSON.stringify(results, null, 2));
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
