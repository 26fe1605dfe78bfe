import fs from 'node:fs';
import path from 'node:path';
import { TEST_DATA } from './paths';

/** Removes a data folder and, when its cluster was staged outside it (root), that cluster too. */
export function removeDataDir(dir: string): void {
  const link = path.join(dir, 'pg');
  try {
    if (fs.lstatSync(link).isSymbolicLink()) fs.rmSync(fs.realpathSync(link), { recursive: true, force: true });
  } catch {
    // no cluster link: nothing outside the folder to remove
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Stops the shared PostgreSQL and removes what the run left on disk. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__PARLEY_TEST_PG__?.stop();
  if (fs.existsSync(TEST_DATA)) {
    for (const entry of fs.readdirSync(TEST_DATA)) removeDataDir(path.join(TEST_DATA, entry));
  }
  fs.rmSync(TEST_DATA, { recursive: true, force: true });
}
