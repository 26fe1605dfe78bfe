import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort } from '../../src/db/embedded-postgres';
import { startTestServer } from './server';

/** A throwaway redis-server on a free loopback port, or on `port` (a restart); Debian's redis-server, .ci/run installs it. */
export async function startRedis(port?: number): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  port ??= await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('redis-server did not start (is it installed?)');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Two servers on one PostgreSQL database and one throwaway Redis, as two instances behind a load balancer. */
export async function startTwoInstances(env: Record<string, string>) {
  let redis = await startRedis();
  const shared = { REDIS_URL: redis.url, SECRET_KEY: 'shared-secret-key-for-both-instances-0123456789', ...env };
  const a = await startTestServer({ env: shared });
  const b = await startTestServer({ env: shared, databaseUrl: a.config.databaseUrl });
  return {
    a,
    b,
    /** Stops Redis (an outage); `restartRedis` brings it back, empty, on the same port. */
    stopRedis: () => redis.stop(),
    async restartRedis() {
      redis = await startRedis(redis.port);
    },
    async close() {
      await b.server.stop();
      await b.db.close();
      await a.close();
      await redis.stop();
    },
  };
}
