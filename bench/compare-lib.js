// Pieces of `npm run bench` (bench/compare.js): one PostgreSQL for Parley and its peers, Parley
// in prod mode and the peers as child processes, a signed-in user with a 50-message
// conversation, and load generated from separate processes.
'use strict';
const { execFile, spawn } = require('node:child_process');
const { randomBytes, randomUUID } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const pg = require('pg');
const { solveChallenge } = require('altcha-lib/v1');
const { startEmbeddedPostgres, freePort } = require('../dist/src/db/embedded-postgres');
const { createLogger } = require('../dist/src/logging/logger');
const { waitReady } = require('./lib');

const ROOT = path.resolve(__dirname, '..');
const METRICS_TOKEN = randomBytes(16).toString('hex');

/** The embedded PostgreSQL binaries (as tests use them) with fresh databases for this run (`url` is the first's). */
async function startDatabase(dataDir, names = ['parley_bench']) {
  const cluster = await startEmbeddedPostgres({ dataDir, logger: createLogger({ level: 'warn', stream: process.stderr }) });
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  for (const name of names) await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const urls = names.map((name) => {
    const url = new URL(cluster.url);
    url.pathname = `/${name}`;
    return url.toString();
  });
  return { url: urls[0], urls, stop: () => cluster.stop() };
}

/**
 * What prod requires (a real key, DATABASE_URL, CORS origins, a captcha), logging at the default
 * `info` to /dev/null (every line still formatted and written). All load comes from one loopback
 * IP, so the per-IP and per-user limits are scaled up: still counted on every request, never tripped.
 */
/** The benchmark's key-encryption key (Parley's content is sealed under per-user keys it wraps; the peer opens it the same way). */
const BENCH_DATA_ENCRYPTION_KEYS = `bench:${Buffer.alloc(32, 42).toString('base64')}`;

function prodEnv(databaseUrl, secretKey) {
  return {
    DATA_ENCRYPTION_KEYS: BENCH_DATA_ENCRYPTION_KEYS,
    APP_ENV: 'prod',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    SECRET_KEY: secretKey,
    CORS_ORIGINS: 'https://chat.example.com',
    // As behind one load balancer; lets the login floods of scenario (d) come from many addresses.
    TRUST_PROXY: 'true',
    METRICS_TOKEN,
    CAPTCHA_DIFFICULTY: '1000',
    RATE_LIMIT_SCALE: '100000',
    AI_PROVIDER: 'openai',
    OPENAI_API_KEY: 'sk-bench-never-called',
    OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
  };
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * `node dist/src/main.js` in prod mode on a free port (CPU profile into `profileDir` when given);
 * resolves once /readyz answers 200. `root` is another built Parley directory (bench/encryption.js
 * runs two builds), `env` what that benchmark adds to prodEnv.
 */
async function startParley(databaseUrl, secretKey, profileDir, { root = ROOT, env = {} } = {}) {
  const port = await freePort();
  const out = fs.openSync('/dev/null', 'w');
  if (profileDir) fs.mkdirSync(profileDir, { recursive: true });
  const child = spawn(process.execPath, [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), path.join(root, 'dist', 'src', 'main.js')], {
    cwd: root,
    env: { PATH: process.env.PATH, ...prodEnv(databaseUrl, secretKey), ...env, PORT: String(port) },
    stdio: ['ignore', out, 'inherit'],
  });
  fs.closeSync(out);
  await waitReady(port);
  return { port, url: `http://127.0.0.1:${port}`, stop: () => stopChild(child) };
}

/** A peer from bench/peers/, resolved with the URL it prints on its first stdout line. */
function startPeer(file, env) {
  const child = spawn(process.execPath, [path.join(__dirname, 'peers', file)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
    child.stdout.on('data', (d) => {
      buf += d.toString();
      if (!buf.includes('\n')) return;
      const { url } = JSON.parse(buf.slice(0, buf.indexOf('\n')));
      child.stdout.removeAllListeners('data').resume();
      child.removeAllListeners('exit');
      resolve({ url, port: Number(new URL(url).port), stop: () => stopChild(child) });
    });
  });
}

async function gql(url, query, variables, token) {
  const res = await fetch(`${url.replace(/\/$/, '')}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

async function solvedCaptcha(url) {
  const c = (await gql(url, '{ captchaChallenge { challenge } }')).data.captchaChallenge.challenge;
  const s = await solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
  const solution = { algorithm: c.algorithm, challenge: c.challenge, number: s.number, salt: c.salt, signature: c.signature };
  return Buffer.from(JSON.stringify(solution)).toString('base64');
}

/**
 * Seals message text as Parley stores it, under the user's data key (made when the conversation's
 * title was sealed), so the inserted rows read like rows Parley wrote.
 */
async function contentSealer(db, userId) {
  const { seal, toText, unwrapKey } = require('../dist/src/crypto/envelope');
  const { wrapBinding } = require('../dist/src/crypto/data-keys');
  const { binding } = require('../dist/src/crypto/cipher');
  const [kekId, kekText] = BENCH_DATA_ENCRYPTION_KEYS.split(':');
  const { rows } = await db.query('SELECT id, wrapped FROM user_key WHERE user_id = $1 AND retired_at IS NULL AND kek_id = $2', [userId, kekId]);
  if (!rows[0]) throw new Error('the bench user has no data key');
  const key = unwrapKey(Buffer.from(kekText, 'base64'), rows[0].wrapped, wrapBinding(rows[0].id, userId));
  return (messageId, text) => toText(seal(key, rows[0].id, Buffer.from(text), binding('message.content', messageId)));
}

/** Registers through Parley's API and inserts a 50-message conversation (assistant replies with usage). */
async function seedUser(parleyUrl, databaseUrl) {
  const reg = await gql(parleyUrl, 'mutation R($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }', {
    i: { email: `bench-${Date.now()}@example.com`, password: 'correct horse battery staple 42', captcha: await solvedCaptcha(parleyUrl) },
  });
  if (reg.errors) throw new Error(JSON.stringify(reg.errors));
  const { accessToken: token, user } = reg.data.register;
  const conv = await gql(parleyUrl, 'mutation { createConversation(input: { title: "bench" }) { id } }', {}, token);
  if (conv.errors) throw new Error(JSON.stringify(conv.errors));
  const conversationId = conv.data.createConversation.id;
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const sealContent = await contentSealer(db, user.id);
  const start = Date.now() - 3_600_000;
  for (let i = 0; i < 50; i++) {
    const assistant = i % 2 === 1;
    const id = randomUUID();
    await db.query(
      `INSERT INTO message (id, conversation_id, role, content, status, model, prompt_tokens, completion_tokens, usage_estimated,
         finish_reason, created_at, sender_id, client_message_id)
       VALUES ($1, $2, $3, $4, 'COMPLETE', $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        id,
        conversationId,
        assistant ? 'ASSISTANT' : 'USER',
        sealContent(id, `${assistant ? 'Reply' : 'Question'} ${i}: ${'lorem ipsum dolor sit amet '.repeat(8)}`),
        assistant ? 'gpt-4o-mini' : null,
        assistant ? 120 + i : null,
        assistant ? 80 + i : null,
        assistant ? false : null,
        assistant ? 'STOP' : null,
        new Date(start + i * 1000),
        assistant ? null : user.id,
        assistant ? null : `client-${i}`,
      ],
    );
  }
  await db.end();
  return { token, userId: user.id, conversationId };
}

/** Runs a worker script (load-worker.js, attack-worker.js) in its own process; resolves its JSON. */
function worker(file, options) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, file), JSON.stringify(options)], { maxBuffer: 1 << 24 }, (err, stdout) =>
      err ? reject(err) : resolve(JSON.parse(stdout)),
    );
  });
}

/** The event-loop delay p99 (seconds) prom-client saw since the last scrape; each scrape resets it. */
async function eventLoopP99Ms(port) {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }).then((r) => r.text());
  const m = /^parley_nodejs_eventloop_lag_p99_seconds ([\d.e+-]+)/m.exec(text);
  return m ? +(Number(m[1]) * 1000).toFixed(2) : null;
}

const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : null;
};

module.exports = {
  BENCH_DATA_ENCRYPTION_KEYS,
  startDatabase,
  startParley,
  startPeer,
  prodEnv,
  gql,
  solvedCaptcha,
  seedUser,
  worker,
  eventLoopP99Ms,
  median,
  stopChild,
};
