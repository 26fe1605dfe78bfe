// `npm run bench`: Parley (prod mode, every control on, logging at info) beside the server a
// user would write instead, in the same run, on the same PostgreSQL: (a) `me`, (b) a page of
// 50 messages, (c) the stream relay (bench/stream.js against bench/peers/ws-relay.js), (d) an
// unrelated query's p99 under two login floods, (e) cold start. BENCH_ROUNDS rounds (3),
// alternating Parley and peer, BENCH_SECONDS (5) of load each from a separate process; medians.
// Writes the table between the peers markers of bench/BENCHMARKS.md and prints the JSON.
'use strict';
const { execFile } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, waitReady, stop, removeDataDir } = require('./lib');
const { BENCH_DATA_ENCRYPTION_KEYS, startDatabase, startParley, startPeer, gql, seedUser, worker, eventLoopP99Ms, median } = require('./compare-lib');
const { writeTable } = require('./compare-table');
const { freePort } = require('../dist/src/db/embedded-postgres');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = 16;
// BENCH_ONLY=me,page,attack,stream,cold runs only those (the table is written after a full run
// only); BENCH_PROFILE=<dir> has Parley write CPU profiles there (node --cpu-prof; the stream
// scenario's first round as stream.cpuprofile), to read with bench/profile-summary.js.
const ALL = ['me', 'page', 'attack', 'stream', 'cold'];
const ONLY = new Set((process.env.BENCH_ONLY ?? ALL.join(',')).split(','));
const PROFILE_DIR = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
// The documents both servers answer (test/foundation/bench-peers.test.ts checks they answer alike).
const { me: ME, messagePage: PAGE } = require('./peers/documents.json');

const load = (port, body, token, concurrency = CLIENTS, seconds = SECONDS) =>
  worker('load-worker.js', { port, body, concurrency, seconds, headers: { authorization: `Bearer ${token}` } });

/** The same document gives the same data on both (so both do the same work), and no error. */
async function sameAnswer(parley, peer, body, token) {
  const [a, b] = await Promise.all([parley.url, peer.url].map((url) => gql(url, body.query, body.variables, token)));
  if (a.errors || b.errors || JSON.stringify(a.data) !== JSON.stringify(b.data)) {
    throw new Error(`Parley and its peer answer differently:\n${JSON.stringify(a).slice(0, 2000)}\n${JSON.stringify(b).slice(0, 2000)}`);
  }
}

/** Rounds alternating Parley and its peer under the same load; medians of req/s and p99. */
async function versus(parley, peer, body, token) {
  await sameAnswer(parley, peer, body, token);
  await load(parley.port, body, token, 8, 2); // warm-up (JIT, pools)
  await load(peer.port, body, token, 8, 2);
  const rounds = { parley: [], peer: [] };
  for (let i = 0; i < ROUNDS; i++) {
    rounds.parley.push(await load(parley.port, body, token));
    rounds.peer.push(await load(peer.port, body, token));
  }
  const sum = (rs) => ({
    perSecond: median(rs.map((r) => r.perSecond)),
    p99ms: median(rs.map((r) => r.p99ms)),
    errors: rs.reduce((a, r) => a + r.errors, 0),
    rounds: rs.map((r) => r.perSecond),
  });
  const result = { parley: sum(rounds.parley), peer: sum(rounds.peer) };
  result.ratio = +(result.parley.perSecond / result.peer.perSecond).toFixed(3);
  return result;
}

/** The victim's p99 while a flood runs (started first, ending after it), and the event-loop delay p99 inside Parley meanwhile. */
async function underFlood(parley, token, startFlood) {
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    await eventLoopP99Ms(parley.port); // resets prom-client's event-loop histogram
    const flood = startFlood();
    await new Promise((r) => setTimeout(r, 500)); // let the flood reach full strength
    const victim = await load(parley.port, { query: ME }, token, 4, SECONDS);
    const loopP99 = await eventLoopP99Ms(parley.port);
    rounds.push({ victim, flood: await flood, eventLoopP99ms: loopP99 });
  }
  return {
    victimP99ms: median(rounds.map((r) => r.victim.p99ms)),
    victimPerSecond: median(rounds.map((r) => r.victim.perSecond)),
    victimErrors: rounds.reduce((a, r) => a + r.victim.errors, 0),
    eventLoopP99ms: median(rounds.map((r) => r.eventLoopP99ms)),
    floodPerSecond: median(rounds.map((r) => r.flood.perSecond)),
    floodOutcomes: rounds.at(-1).flood.outcomes,
  };
}

async function attack(parley, token) {
  const quiet = await load(parley.port, { query: ME }, token, 4, SECONDS);
  const flood = (mode, concurrency) => () => worker('attack-worker.js', { port: parley.port, mode, concurrency, seconds: SECONDS + 1 });
  const badCaptcha = await underFlood(parley, token, flood('bad-captcha', 200));
  const wrongPassword = await underFlood(parley, token, flood('wrong-password', 50));
  return { quietVictimP99ms: quiet.p99ms, badCaptcha, wrongPassword };
}

/** (c): bench/stream.js in its own process against the same database, Parley in prod mode. */
function stream(databaseUrl) {
  const out = path.join(os.tmpdir(), `parley-bench-stream-${process.pid}.json`);
  return new Promise((resolve, reject) => {
    const env = { ...process.env, DATABASE_URL: databaseUrl, ROUNDS: String(ROUNDS), RESULT_FILE: out };
    if (PROFILE_DIR) env.PROFILE = path.join(PROFILE_DIR, 'stream.cpuprofile');
    execFile(process.execPath, ['--expose-gc', path.join(__dirname, 'stream.js')], { env, maxBuffer: 1 << 24 }, (err, _stdout, stderr) => {
      if (stderr) process.stderr.write(stderr.slice(-4000)); // subscription errors, if any
      if (err) return reject(err);
      const result = JSON.parse(fs.readFileSync(out, 'utf8'));
      fs.rmSync(out, { force: true });
      resolve(result);
    });
  });
}

/** (e): `node dist/src/main.js` (what `npm start` runs after its build) to /readyz 200 on an empty DATA_DIR, dev defaults, logging at info. */
async function coldStart() {
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const dataDir = path.join(os.tmpdir(), `parley-bench-cold-${process.pid}-${i}`);
    const port = await freePort();
    const t0 = Date.now();
    const child = startServer(dataDir, port, { APP_ENV: 'dev', LOG_LEVEL: 'info' });
    try {
      await waitReady(port);
      times.push(Date.now() - t0);
    } finally {
      await stop(child);
      removeDataDir(dataDir);
    }
  }
  return { medianMs: median(times), rounds: times };
}

/** (a), (b), (d): Parley and the Apollo peer as child processes on the run's database. */
async function queries(results, databaseUrl) {
  const secretKey = randomBytes(32).toString('hex');
  const parley = await startParley(databaseUrl, secretKey, PROFILE_DIR);
  const peer = await startPeer('apollo-me.js', { DATABASE_URL: databaseUrl, SECRET_KEY: secretKey, DATA_ENCRYPTION_KEYS: BENCH_DATA_ENCRYPTION_KEYS });
  try {
    const { token, conversationId } = await seedUser(parley.url, databaseUrl);
    if (ONLY.has('me')) results.me = await versus(parley, peer, { query: ME }, token);
    if (ONLY.has('page')) results.messagePage = await versus(parley, peer, { query: PAGE, variables: { id: conversationId } }, token);
    if (ONLY.has('attack')) results.underAttack = await attack(parley, token);
  } finally {
    await parley.stop();
    await peer.stop();
  }
}

async function main() {
  const cpus = os.cpus();
  const results = { date: new Date().toISOString(), node: process.version, cpus: cpus.length, cpuModel: cpus[0]?.model, rounds: ROUNDS, seconds: SECONDS };
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-peers-'));
  fs.chmodSync(dataDir, 0o711);
  const db = await startDatabase(dataDir);
  try {
    if (ONLY.has('me') || ONLY.has('page') || ONLY.has('attack')) await queries(results, db.url);
    // A failed stream run (say, statement timeouts on an overloaded machine) is reported, not fatal to the rest.
    if (ONLY.has('stream')) results.stream = await stream(db.url).catch((err) => ({ error: String(err.message).slice(0, 300) }));
  } finally {
    await db.stop();
    removeDataDir(dataDir);
  }
  if (ONLY.has('cold')) results.coldStart = await coldStart();
  if (ALL.every((s) => ONLY.has(s))) writeTable(results);
  else console.error('BENCH_ONLY: a partial run; bench/BENCHMARKS.md left as it was');
  console.log(JSON.stringify(results, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
