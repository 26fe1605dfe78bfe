// `npm run bench:encryption`: what encryption at rest (issue 13) costs, measured against the same
// benchmark without it in the same run. There is no setting that turns encryption off, so the
// comparison is between two built Parley directories: this repository (its dist) and the
// baseline in BENCH_BASELINE_DIR (a build of the commit before encryption; bench/BENCHMARKS.md
// says how to make one). Both run in prod mode with the same environment on one embedded
// PostgreSQL, each on its own database, so each reads rows it wrote. Scenarios, BENCH_ROUNDS (3)
// rounds alternating the builds (order swapped every round), medians: (1) sendMessage from 16
// users at once (echo provider, zero delay: every reply is also generated, streamed and stored),
// (2) a 50-message page (seeded through each build's sendMessage), (3) BENCH_STREAMS (1,000)
// concurrent replies × 20 chunks delivered over graphql-ws (as bench/stream.js); plus AES-256-GCM
// alone. Writes the table between the encryption markers of bench/BENCHMARKS.md, prints JSON.
'use strict';
const { fork } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { removeDataDir } = require('./lib');
const { startDatabase, startParley, prodEnv, worker, median } = require('./compare-lib');
const {
  SEND,
  gql,
  cpuSeconds,
  registerUser,
  createConversation,
  settled,
  seedPage,
  checkPages,
  storesPlainText,
  commitOf,
  cipherBench,
} = require('./encryption-lib');
const { writeTable } = require('./encryption-table');
const { messagePage: PAGE } = require('./peers/documents.json');

const ROOT = path.resolve(__dirname, '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 1000);
const CHUNKS = 20;
const CLIENTS = 16;
// BENCH_ONLY=cipher,page,send,stream runs only those (the table is written after a full run only);
// BENCH_PROFILE=<dir> has both builds' main.js write CPU profiles (page and send) into <dir>/<build>/.
const ALL = ['cipher', 'page', 'send', 'stream'];
const ONLY = new Set((process.env.BENCH_ONLY ?? ALL.join(',')).split(','));
const PROFILE_DIR = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
const MESSAGE = 'How much does encryption at rest cost on this path?';
const STREAM_MESSAGE = 'Stream benchmark: go';
const RECIPE = `BENCH_BASELINE_DIR is not set: it names a built Parley without encryption at rest, for example
  git worktree add --detach /tmp/parley-baseline 5f1e673
  ln -s "$PWD/node_modules" /tmp/parley-baseline/node_modules
  (cd /tmp/parley-baseline && npx tsc -p tsconfig.build.json)
  BENCH_BASELINE_DIR=/tmp/parley-baseline npm run bench:encryption
(5f1e673 is main just before issue 13; remove it afterwards with git worktree remove --force /tmp/parley-baseline)`;

/**
 * What both builds get, besides prodEnv's (prod mode, every control on, logging at info, limits
 * scaled by RATE_LIMIT_SCALE=100000 so they count but never trip): the echo provider at zero
 * delay, no cap on one user's concurrent replies (the stream scenario's 1,000), and a key for
 * the build that encrypts (the baseline ignores it).
 */
const EXTRA_ENV = {
  AI_PROVIDER: 'echo',
  ECHO_TOKEN_DELAY_MS: '0',
  CHAT_MAX_CONCURRENT_STREAMS: '100000',
  DATA_ENCRYPTION_KEYS: `bench1:${randomBytes(32).toString('base64')}`,
};

function buildDirs() {
  if (!process.env.BENCH_BASELINE_DIR) {
    console.error(RECIPE);
    process.exit(2);
  }
  const baseline = path.resolve(process.env.BENCH_BASELINE_DIR);
  for (const root of [baseline, ROOT]) {
    if (!fs.existsSync(path.join(root, 'dist', 'src', 'main.js')))
      throw new Error(`${root} has no dist/src/main.js: build it (npx tsc -p tsconfig.build.json)`);
  }
  return [
    { key: 'baseline', root: baseline, commit: commitOf(baseline) },
    { key: 'current', root: ROOT, commit: commitOf(ROOT) },
  ];
}

/** Each round runs `fn` on both builds, the order swapped every round so neither always goes first. */
async function alternate(builds, fn) {
  const out = Object.fromEntries(builds.map((b) => [b.key, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const b of r % 2 === 0 ? builds : [...builds].reverse()) out[b.key].push(await fn(b, r));
  }
  return out;
}

const sum = (rs) => ({
  perSecond: median(rs.map((r) => r.perSecond)),
  p99ms: median(rs.map((r) => r.p99ms)),
  cpuMsPerOp: median(rs.map((r) => r.cpuMsPerOp)),
  errors: rs.reduce((a, r) => a + r.errors, 0),
  rounds: rs.map((r) => r.perSecond),
});

/**
 * Medians of each build, and ratios (this build / baseline) as the median of each round's ratio:
 * the two builds of one round ran back to back, so the machine's other load drifts less between
 * them than across rounds. `ratioRange` is the spread of the rate ratios over the rounds.
 */
function compared(rounds) {
  const result = { baseline: sum(rounds.baseline), current: sum(rounds.current) };
  const paired = (key) => rounds.current.map((r, i) => r[key] / rounds.baseline[i][key]);
  const r3 = (x) => +x.toFixed(3);
  result.ratio = r3(median(paired('perSecond')));
  result.ratioRange = [Math.min(...paired('perSecond')), Math.max(...paired('perSecond'))].map(r3);
  result.p99Ratio = r3(median(paired('p99ms')));
  result.cpuRatio = r3(median(paired('cpuMsPerOp')));
  return result;
}

/** Runs `fn` (resolving a worker's result with `requests`) and adds the server's CPU ms per request meanwhile. */
async function withCpu(b, fn) {
  const before = await cpuSeconds(b.port);
  const result = await fn();
  result.cpuMsPerOp = +((((await cpuSeconds(b.port)) - before) * 1000) / result.requests).toFixed(3);
  return result;
}

/** Both builds as `node dist/src/main.js`, CLIENTS users each, one with the seeded 50-message conversation. */
async function startBuilds(builds, urls) {
  const secretKey = randomBytes(32).toString('hex');
  for (const [i, b] of builds.entries()) {
    b.databaseUrl = urls[i];
    const profileDir = PROFILE_DIR && path.join(PROFILE_DIR, b.key);
    Object.assign(b, await startParley(b.databaseUrl, secretKey, profileDir, { root: b.root, env: EXTRA_ENV }));
    b.users = [];
    for (let u = 0; u < CLIENTS; u++) b.users.push(await registerUser(b.url, `enc-${b.key}`));
    b.page = { token: b.users[0].token, conversationId: await seedPage(b.url, b.users[0].token) };
    b.storesPlainText = await storesPlainText(b.databaseUrl);
  }
  await checkPages(builds, PAGE);
}

/** (2): the 50-message page, 16 clients of its owner. */
async function pageRead(builds) {
  const load = (b, concurrency, seconds) =>
    worker('load-worker.js', {
      port: b.port,
      body: { query: PAGE, variables: { id: b.page.conversationId } },
      concurrency,
      seconds,
      headers: { authorization: `Bearer ${b.page.token}` },
    });
  const warmUp = [];
  for (const b of builds) warmUp.push((await load(b, 8, 2)).requests); // JIT, pools
  return { ...compared(await alternate(builds, (b) => withCpu(b, () => load(b, CLIENTS, SECONDS)))), warmUp };
}

/** One closed-loop sendMessage run, each user in a fresh conversation (every round alike); waits for the replies to finish. */
async function sendRound(b, clients, seconds) {
  const users = b.users.slice(0, clients);
  const conversations = await Promise.all(users.map((u) => createConversation(b.url, u.token)));
  const body = (conversationId) => ({ query: SEND, variables: { i: { conversationId, content: MESSAGE } } });
  // CPU per send includes its reply's: the replies launched last are still being written, so
  // the measure ends once they finished (also before the other build's turn).
  return withCpu(b, async () => {
    const result = await worker('send-worker.js', { port: b.port, seconds, clients: users.map((u, i) => ({ token: u.token, body: body(conversations[i]) })) });
    const last = await Promise.all(users.map((u, i) => settled(b.url, u.token, conversations[i])));
    result.repliesNotComplete = last.filter((m) => m.status !== 'COMPLETE' || m.content !== `Echo: ${MESSAGE}`).length;
    return result;
  });
}

/** (1): sendMessage from 16 users at once; each returns at once, its reply generated and stored in the background. */
async function sendMessage(builds) {
  const warmUp = [];
  for (const b of builds) warmUp.push((await sendRound(b, 8, 2)).requests);
  const rounds = await alternate(builds, (b) => sendRound(b, CLIENTS, SECONDS));
  const result = { ...compared(rounds), warmUp };
  for (const k of ['baseline', 'current']) result[k].repliesNotComplete = rounds[k].reduce((a, r) => a + r.repliesNotComplete, 0);
  return result;
}

/** A forked child answering each message with one reply. */
function ipc(child) {
  return (msg) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send(msg);
    });
}

async function startStreamServer(b, secretKey) {
  const child = fork(path.join(__dirname, 'encryption-stream-server.js'), [], {
    env: {
      PATH: process.env.PATH,
      BUILD_ROOT: b.root,
      CHUNKS: String(CHUNKS),
      PARLEY_ENV: JSON.stringify({ ...prodEnv(b.databaseUrl, secretKey), ...EXTRA_ENV }),
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  try {
    let exited;
    const failed = new Promise((_, reject) => child.once('exit', (exited = (code) => reject(new Error(`${b.key}: the stream server exited with ${code}`)))));
    const { url } = await Promise.race([new Promise((resolve) => child.once('message', resolve)), failed]);
    child.off('exit', exited); // it exits when stopped at the end
    const { token } = await registerUser(url, `stream-${b.key}`);
    return { url: `${url}/graphql`, wsUrl: `${url.replace('http', 'ws')}/graphql`, token, ask: ipc(child), child };
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }
}

/** STREAMS replies waiting at the gate, in a fresh conversation (as bench/stream.js). */
async function startReplies(s) {
  const conversationId = await createConversation(s.url, s.token);
  const ids = [];
  for (let i = 0; i < STREAMS; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, STREAMS - i) }, () => gql(s.url, SEND, { i: { conversationId, content: STREAM_MESSAGE } }, s.token)),
    );
    ids.push(...batch.map((d) => d.sendMessage.assistantMessage.id));
  }
  return ids;
}

/** (3): STREAMS concurrent replies × CHUNKS chunks per build, received by bench/stream-client.js in its own process. */
async function streams(builds) {
  const secretKey = randomBytes(32).toString('hex');
  const servers = {};
  const clientChild = fork(path.join(__dirname, 'stream-client.js'), [], { stdio: 'inherit' });
  const client = ipc(clientChild);
  try {
    for (const b of builds) servers[b.key] = await startStreamServer(b, secretKey);
    const rounds = await alternate(builds, async (b) => {
      const s = servers[b.key];
      await s.ask({ kind: 'arm' });
      const ids = await startReplies(s);
      await client({ kind: 'subscribe', target: 'parley', wsUrl: s.wsUrl, token: s.token, ids });
      await client({ kind: 'go' });
      const measured = client({ kind: 'measure' });
      const { cpuMs } = await s.ask({ kind: 'open' });
      const m = await measured;
      const cpuMsPerOp = +(((await s.ask({ kind: 'cpu' })).cpuMs - cpuMs) / m.events).toFixed(4);
      return { ...m, perSecond: m.eventsPerSecond, p99ms: m.delayP99ms, p50ms: m.delayP50ms, errors: m.streamErrors, cpuMsPerOp };
    });
    const result = { streams: STREAMS, chunksPerStream: CHUNKS, ...compared(rounds) };
    // The stream servers set Parley up in-process: they must store what the build's main.js does.
    for (const b of builds) {
      if ((await storesPlainText(b.databaseUrl, STREAM_MESSAGE)) === b.storesPlainText) continue;
      console.error(`${b.key}: the stream scenario's rows are stored otherwise than main.js's (plain text: ${!b.storesPlainText})`);
      process.exitCode = 1;
    }
    for (const k of ['baseline', 'current']) {
      result[k].p50ms = median(rounds[k].map((r) => r.p50ms));
      result[k].chunksDelivered = `${Math.min(...rounds[k].map((r) => r.events))} of ${STREAMS * CHUNKS}`;
    }
    return result;
  } finally {
    clientChild.kill('SIGTERM');
    for (const s of Object.values(servers)) if (s.child.exitCode === null) await s.ask({ kind: 'stop' });
  }
}

async function measureAll(builds, results, dataDir) {
  const db = await startDatabase(dataDir, ['parley_enc_baseline', 'parley_enc_current']);
  try {
    try {
      await startBuilds(builds, db.urls);
      results.builds = builds.map((b) => ({ key: b.key, root: b.root, commit: b.commit, storesPlainText: b.storesPlainText }));
      if (ONLY.has('page')) results.messagePage = await pageRead(builds);
      if (ONLY.has('send')) results.sendMessage = await sendMessage(builds);
    } finally {
      for (const b of builds) await b.stop?.();
    }
    if (ONLY.has('stream')) results.stream = await streams(builds);
  } finally {
    await db.stop();
  }
}

async function main() {
  const builds = buildDirs();
  const cpus = os.cpus();
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model,
    rounds: ROUNDS,
    seconds: SECONDS,
    clients: CLIENTS,
  };
  results.loadAverageAtStart = os.loadavg().map((x) => +x.toFixed(2));
  if (ONLY.has('cipher')) results.cipher = cipherBench();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-encryption-'));
  fs.chmodSync(dataDir, 0o711);
  try {
    if (['page', 'send', 'stream'].some((s) => ONLY.has(s))) await measureAll(builds, results, dataDir);
  } finally {
    removeDataDir(dataDir);
  }
  if (ALL.every((s) => ONLY.has(s))) writeTable(results);
  else console.error('BENCH_ONLY: a partial run; bench/BENCHMARKS.md left as it was');
  console.log(JSON.stringify(results, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
