// A login flood in its own process, for `npm run bench` scenario (d). Each of `concurrency`
// clients loops for `seconds`, every attempt from a new address of a botnet (X-Forwarded-For;
// Parley runs with TRUST_PROXY=true), so no per-IP lock or harder captcha cuts the flood short:
// - mode "bad-captcha": `login` with a captcha that is no solution (refused before any hashing);
// - mode "wrong-password": fetch a captcha, solve it, then a wrong password for a random address
//   (so every attempt costs the server an argon2 verify).
// node bench/attack-worker.js '{"port":…,"mode":"wrong-password","concurrency":50,"seconds":5}'
// prints the attempts and their outcomes (by error code) as JSON.
'use strict';
const { createHash, randomInt, randomUUID } = require('node:crypto');

const { port, mode, concurrency, seconds } = JSON.parse(process.argv[2]);
const url = `http://127.0.0.1:${port}/graphql`;
const LOGIN = 'mutation L($i: LoginInput!) { login(input: $i) { accessToken } }';

async function post(ip, query, variables) {
  const headers = { 'content-type': 'application/json', 'x-forwarded-for': ip };
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return res.json();
}

/** ALTCHA v1 (SHA-256): the number whose hash with the salt is the challenge; synchronous, so the attacker spends little CPU on it. */
function solve(c) {
  for (let n = 0; n <= c.maxnumber; n++) {
    if (
      createHash('sha256')
        .update(c.salt + n)
        .digest('hex') === c.challenge
    ) {
      const solution = { algorithm: c.algorithm, challenge: c.challenge, number: n, salt: c.salt, signature: c.signature };
      return Buffer.from(JSON.stringify(solution)).toString('base64');
    }
  }
  return 'bm8gc29sdXRpb24=';
}

async function attempt() {
  const ip = `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
  const email = `nobody-${randomUUID()}@example.com`;
  if (mode === 'bad-captcha') return post(ip, LOGIN, { i: { email, password: 'guess', captcha: 'bm90IGEgc29sdXRpb24=' } });
  const challenge = await post(ip, '{ captchaChallenge { challenge } }');
  const c = challenge.data?.captchaChallenge.challenge;
  if (!c) return challenge;
  return post(ip, LOGIN, { i: { email, password: 'wrong password 123', captcha: solve(c) } });
}

async function main() {
  const outcomes = {};
  const count = (code) => (outcomes[code] = (outcomes[code] ?? 0) + 1);
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        await attempt().then(
          (r) => count(r.errors?.[0]?.extensions?.code ?? 'OK'),
          () => count('transportError'),
        );
      }
    }),
  );
  const attempts = Object.values(outcomes).reduce((a, n) => a + n, 0);
  console.log(JSON.stringify({ attempts, perSecond: Math.round(attempts / seconds), outcomes }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
