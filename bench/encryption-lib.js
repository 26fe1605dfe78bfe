// Pieces of bench/encryption.js: users and a 50-message conversation made through each build's
// own API (so each build reads rows it wrote: ciphertext for an encrypting build), the check that
// both builds answer the same, the build's commit and storage, and the AES-256-GCM
// micro-benchmark.
'use strict';
const { execFileSync } = require('node:child_process');
const { createCipheriv, createDecipheriv, randomBytes } = require('node:crypto');
const pg = require('pg');
const { gql: post, solvedCaptcha, prodEnv, median } = require('./compare-lib');

const { METRICS_TOKEN } = prodEnv('', ''); // the token every Parley of the run is given

const SEND = 'mutation S($i: SendMessageInput!) { sendMessage(input: $i) { assistantMessage { id } } }';
const LAST = 'query L($id: ID!) { conversation(id: $id) { messages(last: 1) { edges { node { role status content } } } } }';
// The seeded texts (like bench/compare-lib.js's seedUser's): 25 questions, each echoed by the echo provider.
const question = (i) => `Question ${i}: ${'lorem ipsum dolor sit amet '.repeat(8)}`.trim();
const PAGE_TEXTS = Array.from({ length: 25 }, (_, i) => [question(i), `Echo: ${question(i)}`]).flat();

async function gql(url, query, variables, token) {
  const body = await post(url, query, variables, token);
  if (body.errors) throw new Error(`${url}: ${JSON.stringify(body.errors).slice(0, 500)}`);
  return body.data;
}

/** A new user through the build's register mutation (captcha solved, real argon2). */
async function registerUser(url, label) {
  const i = { email: `${label}-${randomBytes(6).toString('hex')}@example.com`, password: 'correct horse battery staple 42', captcha: await solvedCaptcha(url) };
  const { register } = await gql(url, 'mutation R($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }', { i });
  return { token: register.accessToken, userId: register.user.id };
}

async function createConversation(url, token) {
  return (await gql(url, 'mutation { createConversation(input: { title: "bench" }) { id } }', {}, token)).createConversation.id;
}

/** Waits until the conversation's newest message is no longer streaming (the echo provider is quick); returns it. */
async function settled(url, token, conversationId, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const node = (await gql(url, LAST, { id: conversationId }, token)).conversation.messages.edges[0]?.node;
    if (node && node.status !== 'STREAMING') return node;
    if (Date.now() > deadline) throw new Error(`${url}: a reply still streaming after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** 25 questions sent through sendMessage, each reply completed before the next: 50 messages. */
async function seedPage(url, token) {
  const conversationId = await createConversation(url, token);
  for (let i = 0; i < 25; i++) {
    await gql(url, SEND, { i: { conversationId, content: question(i), clientMessageId: `seed-${i}` } }, token);
    const reply = await settled(url, token, conversationId);
    if (reply.status !== 'COMPLETE' || reply.content !== `Echo: ${question(i)}`) throw new Error(`${url}: seeded reply ${i} is ${JSON.stringify(reply)}`);
  }
  return conversationId;
}

/** What a page answer must be alike in on both builds: everything but ids, cursors and times. */
function pageShape(data) {
  const c = data.conversation;
  return {
    messages: c.messages.edges.map(({ node: m }) => ({
      role: m.role,
      content: m.content,
      status: m.status,
      model: m.model,
      error: m.error,
      errorCode: m.errorCode,
      finishReason: m.finishReason,
      clientMessageId: m.clientMessageId,
      usage: m.usage,
      attachments: m.attachments.length,
    })),
    hasNextPage: c.messages.pageInfo.hasNextPage,
    hasPreviousPage: c.messages.pageInfo.hasPreviousPage,
  };
}

/** Both builds' page reads return the 50 seeded texts in order, alike in every other field; else throws. */
async function checkPages(builds, query) {
  const shapes = [];
  for (const b of builds) {
    const body = await post(b.url, query, { id: b.page.conversationId }, b.page.token);
    if (body.errors) throw new Error(`${b.name}: the page read failed: ${JSON.stringify(body.errors).slice(0, 500)}`);
    const shape = pageShape(body.data);
    const texts = shape.messages.map((m) => m.content);
    if (JSON.stringify(texts) !== JSON.stringify(PAGE_TEXTS))
      throw new Error(`${b.name}: the page read does not return the seeded texts:\n${JSON.stringify(texts).slice(0, 1000)}`);
    shapes.push(JSON.stringify(shape));
  }
  if (shapes[0] !== shapes[1]) throw new Error(`The builds answer the page read differently:\n${shapes[0].slice(0, 2000)}\n${shapes[1].slice(0, 2000)}`);
}

/** Whether the build's database holds `text` (by default a seeded one) in clear in any column of message: tells an encrypting build. */
async function storesPlainText(databaseUrl, text = question(7)) {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query('SELECT count(*)::int AS n FROM message m WHERE m::text LIKE $1', [`%${text}%`]);
    return rows[0].n > 0;
  } finally {
    await db.end();
  }
}

/** The CPU seconds (user + system) the Parley process has used so far, from its /metrics. */
async function cpuSeconds(port) {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }).then((r) => r.text());
  const m = /^parley_process_cpu_seconds_total ([\d.e+-]+)/m.exec(text);
  if (!m) throw new Error('no parley_process_cpu_seconds_total in /metrics');
  return Number(m[1]);
}

function commitOf(root) {
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Operations a second of `fn` over `ms`, median of 5 after a warm-up round (JIT). */
function rate(fn, ms = 300) {
  const rounds = [];
  for (let r = -1; r < 5; r++) {
    let ops = 0;
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(ms) * 1_000_000n;
    let t = t0;
    while (t < end) {
      for (let i = 0; i < 50; i++) fn();
      ops += 50;
      t = process.hrtime.bigint();
    }
    if (r >= 0) rounds.push(Math.round(ops / (Number(t - t0) / 1e9)));
  }
  return median(rounds);
}

/**
 * AES-256-GCM alone (node:crypto): seal = fresh 12-byte nonce, encrypt with associated data,
 * tag; open = decrypt and verify; as one buffer of version byte, nonce, ciphertext and tag (no
 * base64, no key unwrapping: the cipher's share of the whole path).
 */
function cipherBench(sizes = [1024, 32 * 1024]) {
  const key = randomBytes(32);
  const aad = Buffer.from('message:content:00000000-0000-4000-8000-000000000000');
  const seal = (plain) => {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, nonce).setAAD(aad);
    return Buffer.concat([Buffer.of(1), nonce, c.update(plain), c.final(), c.getAuthTag()]);
  };
  const open = (box) => {
    const d = createDecipheriv('aes-256-gcm', key, box.subarray(1, 13)).setAAD(aad);
    d.setAuthTag(box.subarray(box.length - 16));
    return Buffer.concat([d.update(box.subarray(13, box.length - 16)), d.final()]);
  };
  return sizes.map((bytes) => {
    const plain = randomBytes(bytes);
    const box = seal(plain);
    if (!open(box).equals(plain)) throw new Error('AES-256-GCM round trip failed');
    const sealPerSecond = rate(() => seal(plain));
    const openPerSecond = rate(() => open(box));
    return { bytes, sealPerSecond, openPerSecond, sealMicros: +(1e6 / sealPerSecond).toFixed(2), openMicros: +(1e6 / openPerSecond).toFixed(2) };
  });
}

module.exports = { SEND, gql, cpuSeconds, registerUser, createConversation, settled, seedPage, checkPages, storesPlainText, commitOf, cipherBench };
