import fs from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../src/logging/logger';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded-postgres';
import { removeDataDir } from '../helpers/global-teardown';
import { TEST_DATA } from '../helpers/paths';
import { startTestServer, waitForStatus, type TestServer } from '../helpers/server';

/** Direct children of `pid`, read from /proc (no procps needed). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

describe('/readyz follows the database', () => {
  const dataDir = path.join(TEST_DATA, 'readyz-pg');
  let pg: EmbeddedPostgres;
  let t: TestServer;

  beforeAll(async () => {
    pg = await startEmbeddedPostgres({ dataDir, logger: createLogger({ level: 'error' }) });
    t = await startTestServer({ databaseUrl: pg.url });
  });
  afterAll(async () => {
    await t?.close();
    await pg?.stop();
    removeDataDir(dataDir);
  });

  it('is 200, turns 503 when the database stops, and 200 again when it returns, with no restart', async () => {
    const readyz = `${t.url}/readyz`;
    expect((await fetch(readyz)).status).toBe(200);

    await pg.stop();
    await waitForStatus(readyz, 503);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200); // alive, just not ready
    const body = (await (await fetch(readyz)).json()) as { status: string };
    expect(body.status).toBe('database unavailable');

    pg = await startEmbeddedPostgres({ dataDir, logger: createLogger({ level: 'error' }), port: pg.port });
    await waitForStatus(readyz, 200);
    const models = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ models { id } }' }),
    });
    expect(models.status).toBe(200);
  });

  it('answers 503 rather than hanging while the database is frozen, and 200 once it thaws', async () => {
    // Freeze the postmaster and every backend: connections stay open but nothing answers.
    const frozen = [pg.pid, ...childrenOf(pg.pid)];
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    try {
      await waitForStatus(`${t.url}/readyz`, 503);
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
    }
    await waitForStatus(`${t.url}/readyz`, 200);
  });
});
