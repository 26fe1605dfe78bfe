// Accounts benchmarks: argon2id time per hash at the configured cost, and login throughput
// under a flood of bad-captcha attempts (captcha is checked before any hashing), with the
// latency of real logins made during that flood. Prints JSON; results go to BENCHMARKS.md.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const argon2 = require('argon2');
const { solveChallenge } = require('altcha-lib/v1');
const { startServer, waitReady, stop, load, removeDataDir } = require('./lib');

async function gql(port, query, variables) {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

async function captcha(port) {
  const c = (await gql(port, '{ captchaChallenge { challenge } }')).data.captchaChallenge.challenge;
  const s = await solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
  return Buffer.from(JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: s.number, salt: c.salt, signature: c.signature })).toString(
    'base64',
  );
}

async function main() {
  const results = { node: process.version, cpus: os.cpus().length, date: new Date().toISOString() };
  const opts = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 };
  await argon2.hash('warm up', opts);
  const n = 20;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await argon2.hash(`password ${i}`, opts);
  results.argon2idHashMs = +(Number(process.hrtime.bigint() - t0) / 1e6 / n).toFixed(1);
  const hash = await argon2.hash('password', opts);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await argon2.verify(hash, 'password');
  results.argon2idVerifyMs = +(Number(process.hrtime.bigint() - t0) / 1e6 / n).toFixed(1);

  const port = 4900 + Math.floor(Math.random() * 90);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-auth-'));
  fs.chmodSync(dataDir, 0o711);
  fs.rmSync(dataDir, { recursive: true, force: true });
  // A high RATE_LIMIT_SCALE so the flood reaches the captcha check instead of the per-IP guard.
  const child = startServer(dataDir, port, { CAPTCHA_DIFFICULTY: '1000', RATE_LIMIT_SCALE: '100000', LOGIN_MAX_FAILURES: '1000' });
  try {
    await waitReady(port);
    const email = `bench-${Date.now()}@example.com`;
    const password = 'correct horse battery staple 42';
    const reg = await gql(port, 'mutation R($i: RegisterInput!) { register(input: $i) { user { id } } }', {
      i: { email, password, captcha: await captcha(port) },
    });
    if (reg.errors) throw new Error(JSON.stringify(reg.errors));

    // Wrong password for a real account vs an unknown email: both should cost one argon2 verify.
    const timeLogin = async (who) => {
      const c = await captcha(port);
      const s = process.hrtime.bigint();
      await gql(port, 'mutation L($i: LoginInput!) { login(input: $i) { accessToken } }', { i: { email: who, password: 'not the password', captcha: c } });
      return Number(process.hrtime.bigint() - s) / 1e6;
    };
    const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const known = [];
    const unknown = [];
    for (let i = 0; i < 15; i++) {
      known.push(await timeLogin(email));
      unknown.push(await timeLogin(`nobody-${i}@example.com`));
    }
    results.failedLoginMedianMs = { knownEmail: +median(known).toFixed(1), unknownEmail: +median(unknown).toFixed(1) };

    const bad = { query: 'mutation { login(input: { email: "victim@example.com", password: "guess", captcha: "bm90IGEgc29sdXRpb24=" }) { accessToken } }' };
    await load(port, bad, 8, 2);
    const floodPromise = load(port, bad, 32, 10);
    const loginTimes = [];
    const end = Date.now() + 9000;
    while (Date.now() < end) {
      const c = await captcha(port);
      const s = process.hrtime.bigint();
      const r = await gql(port, 'mutation L($i: LoginInput!) { login(input: $i) { accessToken } }', { i: { email, password, captcha: c } });
      if (r.errors) throw new Error(JSON.stringify(r.errors));
      loginTimes.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    const flood = await floodPromise;
    loginTimes.sort((a, b) => a - b);
    results.badCaptchaFlood = { concurrency: 32, ...flood };
    results.realLoginsDuringFlood = {
      count: loginTimes.length,
      p50ms: +loginTimes[Math.floor(loginTimes.length / 2)].toFixed(1),
      maxMs: +loginTimes[loginTimes.length - 1].toFixed(1),
    };
  } finally {
    await stop(child);
    removeDataDir(dataDir);
  }
  console.log(JSON.stringify(results, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
