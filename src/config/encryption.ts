import type { ConfigReader } from './readers';
import type { Config, EncryptionKey } from './types';

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * DATA_ENCRYPTION_KEYS: `id:base64key,…` of 32-byte keys, the first current. Never echoes a key
 * in a problem (only its position and id). Undefined when unset or malformed (a problem is recorded).
 */
export function parseEncryptionKeys(r: ConfigReader, raw: string): EncryptionKey[] | undefined {
  const keys: EncryptionKey[] = [];
  const entries = raw.split(',').map((e) => e.trim());
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    const encoded = colon < 0 ? '' : entry.slice(colon + 1);
    const key = Buffer.from(encoded, 'base64');
    if (!KEY_ID.test(id)) return r.problem(`DATA_ENCRYPTION_KEYS entry ${i + 1} must be id:base64key with an id of letters, digits, _ or - (1 to 32)`);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || key.length !== 32) {
      return r.problem(`DATA_ENCRYPTION_KEYS key "${id}" must be 32 bytes in base64 (openssl rand -base64 32)`);
    }
    if (keys.some((k) => k.id === id)) return r.problem(`DATA_ENCRYPTION_KEYS names key "${id}" twice`);
    keys.push({ id, key });
  });
  return keys.length === entries.length ? keys : undefined;
}

/** The key-encryption keys and how long servers keep unwrapped data keys. */
export function readEncryption(r: ConfigReader, appEnv: string): Pick<Config, 'encryption'> {
  const raw = r.str('DATA_ENCRYPTION_KEYS');
  const keys = raw === undefined ? undefined : parseEncryptionKeys(r, raw);
  if (raw === undefined && appEnv === 'prod') {
    r.problem('DATA_ENCRYPTION_KEYS is required in prod: a comma list of id:base64key (32-byte keys from openssl rand -base64 32), the first current');
  }
  return {
    encryption: {
      keys: keys ?? [],
      generated: raw === undefined,
      dataKeyCacheSeconds: r.duration('DATA_KEY_CACHE_TTL', 60, 1, 600),
    },
  };
}
