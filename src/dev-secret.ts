import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** File in DATA_DIR holding the generated development SECRET_KEY. */
export const DEV_SECRET_FILE = 'secret-key';

/**
 * The SECRET_KEY a development server uses when none is set: generated once and kept in
 * DATA_DIR (mode 600, like the embedded database's password), so restarts keep sessions and
 * the keyed audit chain stays verifiable. Never used in prod, where SECRET_KEY is required.
 */
export function loadOrCreateDevSecret(dataDir: string): string {
  const file = path.join(dataDir, DEV_SECRET_FILE);
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  const secret = randomBytes(32).toString('base64url');
  // 'wx' fails if another process wrote the file first; then theirs is the one to use.
  try {
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim();
    throw err;
  }
}
