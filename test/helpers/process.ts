import { spawn, type ChildProcess } from 'node:child_process';
import { MAIN_JS, ROOT, TEST_DATA_ENCRYPTION_KEYS } from './paths';
import { removeDataDir } from './global-teardown';

/** A `node dist/src/main.js` child: the same artifact `npm start` runs. */
export interface ServerProcess {
  child: ChildProcess;
  lines: Record<string, any>[];
  stderr: () => string;
  waitFor(pred: (l: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs it if still running (test clean-up). */
  kill(): Promise<void>;
}

/** Starts the compiled server with exactly `env` (plus PATH), collecting its JSON log lines. */
export function spawnServer(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, [MAIN_JS], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', DATA_ENCRYPTION_KEYS: TEST_DATA_ENCRYPTION_KEYS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, any>[] = [];
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ message: line, unparsed: true });
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    lines,
    stderr: () => err,
    exited,
    async waitFor(pred, timeoutMs = 45_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines.find(pred);
        if (hit) return hit;
        if (done) throw new Error(`server exited before the awaited log line; stderr: ${err.slice(-2000)}; last lines: ${JSON.stringify(lines.slice(-5))}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for a log line; last lines: ${JSON.stringify(lines.slice(-5))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill() {
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/**
 * For a describe block: `start(env)` spawns a test-mode server on a free loopback port and
 * `dirs` collects data folders; afterAll kills every process and removes every folder.
 */
export function useServerProcesses(): { start(env: Record<string, string>): ServerProcess; dirs: string[] } {
  const procs: ServerProcess[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    for (const d of dirs) removeDataDir(d);
  });
  return {
    dirs,
    start(env) {
      const p = spawnServer({ APP_ENV: 'test', PORT: '0', HOST: '127.0.0.1', ...env });
      procs.push(p);
      return p;
    },
  };
}
