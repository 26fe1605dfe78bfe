import { createHash, createHmac, hkdfSync } from 'node:crypto';
import type { AuditEvent } from './audit-event.entity';

/** The `prevHash` of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** A chain key: HMAC-SHA-256 key and the public id stored with each event it hashed. */
export interface ChainKey {
  id: string;
  key: Buffer;
}

/** A point of the chain an instance or an auditor knows: the event at `seq` had `hash`. */
export interface ChainHead {
  seq: bigint;
  hash: string;
}

/**
 * The chain key derived from a secret with HKDF-SHA-256: it lives only in the servers'
 * configuration, never in the database, and is distinct from every other use of the secret.
 */
export function deriveChainKey(secret: string): ChainKey {
  const key = Buffer.from(hkdfSync('sha256', secret, 'parley audit chain', 'audit-chain-hmac-v2', 32));
  // The id names the key without revealing it, so verification picks the right one after a rotation.
  return { id: createHmac('sha256', key).update('parley audit key id').digest('hex').slice(0, 16), key };
}

/** The current key (from SECRET_KEY) first, then the previous one (SECRET_KEY_PREVIOUS), if any. */
export function chainKeys(secret: string, previous?: string): ChainKey[] {
  return previous ? [deriveChainKey(secret), deriveChainKey(previous)] : [deriveChainKey(secret)];
}

/** JSON with object keys sorted at every level: one byte string per value, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export type Hashed = Pick<
  AuditEvent,
  'seq' | 'at' | 'actorId' | 'actorRole' | 'action' | 'resourceType' | 'resourceId' | 'outcome' | 'ip' | 'requestId' | 'metadata' | 'prevHash'
> & { keyId?: string | null };

function fields(e: Hashed): unknown[] {
  return [
    String(e.seq),
    e.at.toISOString(),
    e.actorId ?? null,
    e.actorRole ?? null,
    e.action,
    e.resourceType ?? null,
    e.resourceId ?? null,
    e.outcome,
    e.ip ?? null,
    e.requestId ?? null,
    e.metadata ?? null,
    e.prevHash,
  ];
}

/** Version 1 (events written before the chain was keyed): plain SHA-256, which anyone can recompute. */
export function legacyHash(e: Hashed): string {
  return createHash('sha256')
    .update(canonicalJson(fields(e)))
    .digest('hex');
}

/** Version 2: HMAC-SHA-256 under the chain key, over the version, the key id and every recorded field. */
export function keyedHash(e: Hashed, key: ChainKey): string {
  return createHmac('sha256', key.key)
    .update(canonicalJson(['v2', key.id, ...fields(e)]))
    .digest('hex');
}

/** The hash `e` should carry, or null when it names a key this server does not hold. */
export function expectedHash(e: Hashed, keys: ChainKey[]): string | null {
  if (!e.keyId) return legacyHash(e);
  const key = keys.find((k) => k.id === e.keyId);
  return key ? keyedHash(e, key) : null;
}

/** The MAC of an `audit.head` log line, so a forged checkpoint line is told apart from a real one. */
export function signHead(key: ChainKey, head: { seq: string; hash: string; at: string }): string {
  return createHmac('sha256', key.key)
    .update(canonicalJson(['audit.head', head.seq, head.hash, head.at]))
    .digest('hex');
}
