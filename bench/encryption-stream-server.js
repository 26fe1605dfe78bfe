// One build's Parley for the stream scenario of bench/encryption.js, forked with BUILD_ROOT (a
// built Parley directory) and DATABASE_URL: in this process, as bench/stream.js runs it, with
// the same zero-delay provider whose chunks carry their production time and wait at a gate.
// IPC: first message { url }; then { kind: 'arm' } (a new gate for the next round's replies),
// { kind: 'open' } (releases them), { kind: 'cpu' }, { kind: 'stop' }; each answered with { ok: true }
// and, but for stop, the CPU time this process has used so far.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { performance } = require('node:perf_hooks');

const BUILD = path.join(path.resolve(process.env.BUILD_ROOT), 'dist', 'src');
// The build's own modules resolve their dependencies (reflect-metadata first, as main.ts does).
require(require.resolve('reflect-metadata', { paths: [BUILD] }));
const { loadConfig } = require(path.join(BUILD, 'config'));
const { openDatabase } = require(path.join(BUILD, 'db', 'orm'));
// SEALED_ENTITIES (the encrypted columns) exists from issue 13 on; undefined in the baseline.
const { ENTITIES, SEALED_ENTITIES } = require(path.join(BUILD, 'entities'));
const { createLogger } = require(path.join(BUILD, 'logging', 'logger'));
const { startServer } = require(path.join(BUILD, 'server'));

const CHUNKS = Number(process.env.CHUNKS ?? 20);
const now = () => performance.timeOrigin + performance.now();

function gate() {
  let open;
  const opened = new Promise((r) => (open = r));
  return { opened, open };
}

async function main() {
  // The coordinator's prod environment for this build (the same for both builds), plus what
  // bench/stream.js sets so 1,000 replies of one user can stream at once.
  const env = JSON.parse(process.env.PARLEY_ENV);
  const config = loadConfig({
    ...env,
    PORT: '0',
    DB_POOL_MAX: '20',
    RATE_LIMIT_SCALE: '1000000',
    WS_MAX_CONNECTIONS_PER_IP: '100000',
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '100',
    RATE_LIMIT_WS_SUBSCRIBE: '100000/60',
    AI_FIRST_TOKEN_TIMEOUT_MS: '600000',
  });
  const logger = createLogger({ level: config.logLevel, stream: fs.createWriteStream('/dev/null') });
  const db = await openDatabase(config, logger, { entities: ENTITIES, sealed: SEALED_ENTITIES }); // as the build's main.ts
  let current = gate();
  const provider = {
    name: 'bench',
    async *stream() {
      const opened = current.opened;
      await opened;
      for (let i = 0; i < CHUNKS; i++) {
        await new Promise((r) => setImmediate(r));
        yield { type: 'delta', text: `${now().toFixed(3)};` };
      }
    },
  };
  const server = await startServer({ config, logger, db, providerForBenchmark: provider });
  process.on('message', async (msg) => {
    if (msg.kind === 'arm') current = gate();
    if (msg.kind === 'open') current.open();
    if (msg.kind === 'stop') {
      await server.stop();
      await db.close();
      process.send({ ok: true }, () => process.exit(0));
      return;
    }
    // The CPU this process has used so far (ms), for CPU per delivered chunk.
    const { user, system } = process.cpuUsage();
    process.send({ ok: true, cpuMs: (user + system) / 1000 });
  });
  process.send({ url: server.url });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
