import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeDataDir } from '../helpers/global-teardown';
import { TEST_DATA } from '../helpers/paths';
import { useServerProcesses } from '../helpers/process';

// Whole server processes (and their embedded PostgreSQL) per case: slow on a loaded 2-core machine.
jest.setTimeout(180_000);

// Moved out of lifecycle.test.ts so Jest runs the two halves (each spawning servers over their own
// embedded clusters) on two workers at once.
const isRoot = process.getuid?.() === 0;

async function readyz(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`)).status;
}

describe('process lifecycle on the embedded PostgreSQL: unusual data folders and crashes', () => {
  const { start, dirs } = useServerProcesses();

  (isRoot ? it : it.skip)('as root, boots with DATA_DIR inside a folder the postgres user cannot traverse (a clone under /root)', async () => {
    const locked = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-locked-'));
    fs.chmodSync(locked, 0o700);
    const dataDir = path.join(locked, 'data');
    dirs.push(dataDir);
    try {
      const proc = start({ DATA_DIR: dataDir });
      const ready = await proc.waitFor((l) => l.message === 'ready');
      expect(await readyz(ready.url)).toBe(200);
      expect(fs.lstatSync(path.join(dataDir, 'pg')).isSymbolicLink()).toBe(true);
      proc.child.kill('SIGTERM');
      expect((await proc.exited).code).toBe(0);

      // The same DATA_DIR finds the same cluster again.
      const again = start({ DATA_DIR: dataDir });
      const ready2 = await again.waitFor((l) => l.message === 'ready');
      expect(ready2.installationId).toBe(ready.installationId);
      again.child.kill('SIGTERM');
      expect((await again.exited).code).toBe(0);
    } finally {
      removeDataDir(dataDir);
      fs.rmSync(locked, { recursive: true, force: true });
    }
  });

  it('recovers when the previous process was killed and left its PostgreSQL running', async () => {
    const dataDir = path.join(TEST_DATA, 'lifecycle-killed');
    dirs.push(dataDir);
    const first = start({ DATA_DIR: dataDir });
    const ready = await first.waitFor((l) => l.message === 'ready');
    first.child.kill('SIGKILL');
    await first.exited;

    const second = start({ DATA_DIR: dataDir });
    const again = await second.waitFor((l) => l.message === 'ready');
    expect(again.installationId).toBe(ready.installationId);
    expect(await readyz(again.url)).toBe(200);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  });
});
