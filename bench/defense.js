// The request-rate cost of the defense layer: one process, one database, two servers — one
// with the whole layer (permissions, depth/cost/alias limits, rate-limit directive, input
// hygiene), one bare — loaded in turn with the same authenticated query.
'use strict';
require('reflect-metadata');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { loadConfig } = require('../dist/src/config');
const { openDatabase } = require('../dist/src/db/orm');
const { ENTITIES, SEALED_ENTITIES } = require('../dist/src/entities');
const { createLogger } = require('../dist/src/logging/logger');
const { startServer } = require('../dist/src/server');
const { execFile } = require('node:child_process');
const { removeDataDir } = require('./lib');

/** The same closed-loop load as bench/lib.js, generated from a separate process. */
function load(port, body, concurrency, seconds, headers) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'load-worker.js'), JSON.stringify({ port, body, concurrency, seconds, headers })], (err, stdout) =>
      err ? reject(err) : resolve(JSON.parse(stdout)),
    );
  });
}
const { solveChallenge } = require('altcha-lib/v1');

async function gql(port, query, variables, headers = {}) {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return res.json();
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-defense-'));
  fs.chmodSync(dataDir, 0o711);
  const config = loadConfig({
    APP_ENV: 'test',
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    CAPTCHA_DIFFICULTY: '1000',
    RATE_LIMIT_SCALE: '100000',
  });
  const logger = createLogger({ level: 'error' });
  const db = await openDatabase(config, logger, { entities: ENTITIES, sealed: SEALED_ENTITIES });
  const guarded = await startServer({ config, logger, db });
  const bare = await startServer({ config, logger, db, withoutDefenseLayerForBenchmark: true });
  const results = { node: process.version, cpus: os.cpus().length, date: new Date().toISOString() };
  try {
    const c = (await gql(guarded.port, '{ captchaChallenge { challenge } }')).data.captchaChallenge.challenge;
    const s = await solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
    const captcha = Buffer.from(
      JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: s.number, salt: c.salt, signature: c.signature }),
    ).toString('base64');
    const reg = await gql(guarded.port, 'mutation R($i: RegisterInput!) { register(input: $i) { accessToken } }', {
      i: { email: `bench-${Date.now()}@example.com`, password: 'correct horse battery staple 42', captcha },
    });
    const headers = { authorization: `Bearer ${reg.data.register.accessToken}` };
    const body = { query: 'query Me { me { id email role displayName createdAt } }' };
    await load(guarded.port, body, 8, 2, headers);
    await load(bare.port, body, 8, 2, headers);
    const rounds = { with: [], without: [] };
    for (let i = 0; i < 3; i++) {
      rounds.with.push(await load(guarded.port, body, 16, 5, headers));
      rounds.without.push(await load(bare.port, body, 16, 5, headers));
    }
    const total = (rs) => Math.round(rs.reduce((a, r) => a + r.perSecond, 0) / rs.length);
    results.withDefenseLayer = { perSecond: total(rounds.with), p50ms: rounds.with.map((r) => r.p50ms), errors: rounds.with.reduce((a, r) => a + r.errors, 0) };
    results.withoutDefenseLayer = {
      perSecond: total(rounds.without),
      p50ms: rounds.without.map((r) => r.p50ms),
      errors: rounds.without.reduce((a, r) => a + r.errors, 0),
    };
    results.ratio = +(results.withDefenseLayer.perSecond / results.withoutDefenseLayer.perSecond).toFixed(3);
  } finally {
    await guarded.stop();
    await bare.stop();
    await db.close();
    removeDataDir(dataDir);
  }
  console.log(JSON.stringify(results, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
