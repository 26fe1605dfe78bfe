import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config';

/** File in DATA_DIR holding the generated development SECRET_KEY. */
export const DEV_SECRET_FILE = 'secret-key';

/**
 * The SECRET_KEY a development server uses when none is set: generated once and kept in
 * DATA_DIR (mode 600, like the embedded database's password), so restarts keep sessions and
 * the keyed audit chain stays verifiable. Never used in prod, where SECRET_KEY is required.
 */
export function loadOrCreateDevSecret(dataDir: string): string {
  return loadOrCreate(dataDir, DEV_SECRET_FILE, () => randomBytes(32).toString('base64url'));
}

/** File in DATA_DIR holding the generated development key-encryption key. */
export const DEV_ENCRYPTION_KEY_FILE = 'data-encryption-key';

/**
 * Outside prod with DATA_ENCRYPTION_KEYS unset: the development key-encryption key, generated
 * once and kept in DATA_DIR (mode 600), so a restart can still unwrap the data keys. Prod refuses
 * to start without DATA_ENCRYPTION_KEYS (loadConfig), so this never runs there.
 */
export function useDevEncryptionKey(config: Config): boolean {
  if (!config.encryption.generated || config.encryption.keys.length > 0 || config.appEnv === 'prod') return false;
  const text = loadOrCreate(config.dataDir, DEV_ENCRYPTION_KEY_FILE, () => randomBytes(32).toString('base64'));
  config.encryption.keys = [{ id: 'dev', key: Buffer.from(text, 'base64') }];
  return true;
}

function loadOrCreate(dataDir: string, name: string, make: () => string): string {
  const file = path.join(dataDir, name);
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing.length >= 32) return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  const secret = make();
  // 'wx' fails if another process wrote the file first; then theirs is the one to use.
  try {
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim();
    throw err;
  }
}
