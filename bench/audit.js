// Audit benchmarks: the time of a filtered `auditEvents` page over one million events, and the
// request-rate cost of recording reads (same run, same database, with and without).
'use strict';
require('reflect-metadata');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { loadConfig } = require('../dist/src/config');
const { openDatabase } = require('../dist/src/db/orm');
const { ENTITIES, SEALED_ENTITIES } = require('../dist/src/entities');
const { createLogger } = require('../dist/src/logging/logger');
const { startServer } = require('../dist/src/server');
const { solveChallenge } = require('altcha-lib/v1');
const { removeDataDir } = require('./lib');

const EVENTS = Number(process.env.EVENTS ?? 1_000_000);

function load(port, body, concurrency, seconds, headers) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'load-worker.js'), JSON.stringify({ port, body, concurrency, seconds, headers })], (err, stdout) =>
      err ? reject(err) : resolve(JSON.parse(stdout)),
    );
  });
}

async function gql(port, query, variables, token) {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-audit-'));
  fs.chmodSync(dataDir, 0o711);
  const config = loadConfig({
    APP_ENV: 'test',
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'error',
    CAPTCHA_DIFFICULTY: '1000',
    RATE_LIMIT_SCALE: '1000000',
    DB_STATEMENT_TIMEOUT_MS: '600000',
    BOOTSTRAP_ADMIN_EMAIL: 'bench-admin@example.com',
    BOOTSTRAP_ADMIN_PASSWORD: 'a bench admin passphrase of some length',
  });
  const logger = createLogger({ level: 'error' });
  const db = await openDatabase(config, logger, { entities: ENTITIES, sealed: SEALED_ENTITIES });
  const withReads = await startServer({ config, logger, db });
  const withoutReads = await startServer({ config, logger, db });
  withoutReads.services.audit.readsRecordedForBenchmark = false;
  const results = { node: process.version, cpus: os.cpus().length, date: new Date().toISOString(), events: EVENTS };
  try {
    const conn = db.orm.em.fork().getConnection();
    let t0 = Date.now();
    await conn.execute(`
      insert into audit_event (id, seq, at, actor_id, actor_role, action, resource_type, resource_id, outcome, ip, request_id, metadata, prev_hash, hash)
      select gen_random_uuid(), 1000000 + g, now() - make_interval(secs => ${EVENTS} - g),
             ('00000000-0000-4000-8000-' || lpad((g % 1000)::text, 12, '0'))::uuid, 'USER',
             (array['auth.login','auth.refresh','chat.message.create','data.read','chat.conversation.create','auth.logout','security.rate_limited','auth.register','admin.user.lock','auth.token_reused'])[1 + g % 10],
             'conversation', 'r' || (g % 50000), (array['SUCCESS','SUCCESS','SUCCESS','FAILURE','DENIED'])[1 + g % 5]::audit_outcome,
             '10.0.' || (g % 250) || '.' || (g % 2), null, null, repeat('0', 64), md5(g::text) || md5(g::text)
      from generate_series(1, ${EVENTS}) g`);
    await conn.execute('analyze audit_event');
    results.insertSeconds = (Date.now() - t0) / 1000;

    const port = withReads.port;
    const adminToken = (
      await gql(port, 'mutation L($i: LoginInput!) { login(input: $i) { accessToken } }', {
        i: { email: 'bench-admin@example.com', password: 'a bench admin passphrase of some length', captcha: await captcha(port) },
      })
    ).login.accessToken;
    const q =
      'query E($f: AuditFilter) { auditEvents(filter: $f, first: 20) { edges { node { seq action actorId ip outcome at } } pageInfo { hasNextPage endCursor } } }';
    const filters = {
      none: {},
      actorId: { actorId: '00000000-0000-4000-8000-000000000123' },
      action: { action: 'admin.user.lock' },
      resource: { resourceType: 'conversation', resourceId: 'r4242' },
      outcome: { outcome: 'DENIED' },
      ip: { ip: '10.0.42.0' },
      timeRange: { from: new Date(Date.now() - 86_400_000 * 3).toISOString(), to: new Date(Date.now() - 86_400_000 * 2).toISOString() },
      actionAndIp: { action: 'auth.login', ip: '10.0.40.0' },
    };
    results.filteredPageMs = {};
    for (const [name, f] of Object.entries(filters)) {
      const times = [];
      for (let i = 0; i < 15; i++) {
        t0 = process.hrtime.bigint();
        const page = await gql(port, q, { f }, adminToken);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        if (page.auditEvents.edges.length === 0 && name !== 'timeRange') throw new Error(`filter ${name} found nothing`);
      }
      times.sort((a, b) => a - b);
      results.filteredPageMs[name] = { p50: +times[7].toFixed(1), max: +times[14].toFixed(1) };
    }

    // Read auditing: the same owned-conversation query, recorded vs not.
    const userToken = (
      await gql(port, 'mutation R($i: RegisterInput!) { register(input: $i) { accessToken } }', {
        i: { email: `reader-${Date.now()}@example.com`, password: 'correct horse battery staple 42', captcha: await captcha(port) },
      })
    ).register.accessToken;
    const conversationId = (await gql(port, 'mutation { createConversation(input: {}) { id } }', {}, userToken)).createConversation.id;
    const body = { query: 'query C($id: ID!) { conversation(id: $id) { id title model } }', variables: { id: conversationId } };
    const headers = { authorization: `Bearer ${userToken}` };
    await load(withReads.port, body, 8, 2, headers);
    await load(withoutReads.port, body, 8, 2, headers);
    const rounds = { with: [], without: [] };
    for (let i = 0; i < 3; i++) {
      rounds.with.push(await load(withReads.port, body, 16, 5, headers));
      rounds.without.push(await load(withoutReads.port, body, 16, 5, headers));
    }
    const avg = (rs) => Math.round(rs.reduce((a, r) => a + r.perSecond, 0) / rs.length);
    results.readAuditing = { withReadsPerSecond: avg(rounds.with), withoutReadsPerSecond: avg(rounds.without) };
    results.readAuditing.ratio = +(results.readAuditing.withReadsPerSecond / results.readAuditing.withoutReadsPerSecond).toFixed(3);
    await withReads.services.audit.flushReads();
    results.readAuditing.readRecordsWritten = Number(
      (await conn.execute(`select count(*) as n from audit_event where action = 'data.read' and resource_type = 'conversation'`))[0].n,
    );
  } finally {
    await withReads.stop();
    await withoutReads.stop();
    await db.close();
    removeDataDir(dataDir);
  }
  console.log(JSON.stringify(results, null, 2));
}

async function captcha(port) {
  const c = (await gql(port, '{ captchaChallenge { challenge } }')).captchaChallenge.challenge;
  const s = await solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
  return Buffer.from(JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: s.number, salt: c.salt, signature: c.signature })).toString(
    'base64',
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
