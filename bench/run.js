// Foundation benchmarks: cold start (npm start to /readyz 200 on an empty DATA_DIR), warm
// restart on the same DATA_DIR, and the request rate of a small GraphQL query over HTTP.
// Run with `npm run bench` (builds first). Prints JSON; record results in bench/BENCHMARKS.md.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, waitReady, stop, load, removeDataDir } = require('./lib');

async function main() {
  const port = 4700 + Math.floor(Math.random() * 200);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-'));
  fs.chmodSync(dataDir, 0o711);
  fs.rmSync(dataDir, { recursive: true, force: true });
  const results = { node: process.version, cpus: os.cpus().length, date: new Date().toISOString() };
  try {
    let t0 = Date.now();
    let child = startServer(dataDir, port);
    await waitReady(port);
    results.coldStartMs = Date.now() - t0;
    results.coldStopExitCode = await stop(child);

    t0 = Date.now();
    child = startServer(dataDir, port);
    await waitReady(port);
    results.warmStartMs = Date.now() - t0;

    await load(port, { query: '{ models { id } }' }, 8, 2); // warm-up
    results.modelsQuery = await load(port, { query: 'query Models { models { id provider default } }' }, 16, 10);
    const mem = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
    const rss = /^parley_process_resident_memory_bytes (\d+)/m.exec(mem);
    results.rssMiBAfterLoad = rss ? Math.round(Number(rss[1]) / 1048576) : null;
    t0 = Date.now();
    results.stopExitCode = await stop(child);
    results.stopMs = Date.now() - t0;
  } finally {
    removeDataDir(dataDir);
  }
  console.log(JSON.stringify(results, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
