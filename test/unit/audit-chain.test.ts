import { createHash } from 'node:crypto';
import {
  GENESIS_HASH,
  canonicalJson,
  chainKeys,
  deriveChainKey,
  expectedHash,
  keyedHash,
  legacyHash,
  signHead,
  type Hashed,
} from '../../src/audit/audit-chain';
import { AuditOutcome } from '../../src/audit/audit-event.entity';
import { Role } from '../../src/graphql/role';

function event(overrides: Partial<Hashed> = {}): Hashed {
  return {
    seq: '1',
    at: new Date('2026-12-01T12:00:00.000Z'),
    actorId: 'u-1',
    actorRole: Role.USER,
    action: 'auth.login',
    resourceType: 'user',
    resourceId: 'u-1',
    outcome: AuditOutcome.SUCCESS,
    ip: '127.0.0.1',
    requestId: 'r-1',
    metadata: { b: 2, a: 1 },
    prevHash: GENESIS_HASH,
    ...overrides,
  };
}

describe('canonical JSON', () => {
  it('sorts object keys at every level, so key order does not change the bytes', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });

  it('drops undefined object members and writes undefined elsewhere as null', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson([1, undefined, 'x'])).toBe('[1,null,"x"]');
  });

  it('keeps array order and escapes strings and keys as JSON does', () => {
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
    expect(canonicalJson({ 'q"k': 'line\nbreak' })).toBe('{"q\\"k":"line\\nbreak"}');
    expect(canonicalJson(true)).toBe('true');
    expect(canonicalJson(null)).toBe('null');
  });
});

describe('event hashing', () => {
  const key = deriveChainKey('a'.repeat(64));

  it('derives the same key and id from the same secret, and different ones from another', () => {
    expect(deriveChainKey('a'.repeat(64)).key.equals(key.key)).toBe(true);
    expect(deriveChainKey('a'.repeat(64)).id).toBe(key.id);
    expect(deriveChainKey('b'.repeat(64)).id).not.toBe(key.id);
    expect(key.id).toMatch(/^[0-9a-f]{16}$/);
    expect(key.key.toString('hex')).not.toContain(key.id);
  });

  it('lists the current key first, then the previous one', () => {
    expect(chainKeys('a'.repeat(64)).map((k) => k.id)).toEqual([key.id]);
    expect(chainKeys('a'.repeat(64), 'b'.repeat(64)).map((k) => k.id)).toEqual([key.id, deriveChainKey('b'.repeat(64)).id]);
  });

  it('hashes a legacy event as plain SHA-256 over its canonical fields', () => {
    const e = event();
    const fields = [
      String(e.seq),
      e.at.toISOString(),
      'u-1',
      Role.USER,
      'auth.login',
      'user',
      'u-1',
      AuditOutcome.SUCCESS,
      '127.0.0.1',
      'r-1',
      { a: 1, b: 2 },
      GENESIS_HASH,
    ];
    expect(legacyHash(e)).toBe(createHash('sha256').update(canonicalJson(fields)).digest('hex'));
    expect(legacyHash(event({ metadata: { a: 1, b: 2 } }))).toBe(legacyHash(e));
  });

  it('changes the keyed hash when any recorded field changes', () => {
    const base = keyedHash(event(), key);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(keyedHash(event(), key)).toBe(base);
    const changes: Partial<Hashed>[] = [
      { seq: '2' },
      { at: new Date('2026-12-01T12:00:00.001Z') },
      { actorId: 'u-2' },
      { actorRole: Role.ADMIN },
      { action: 'auth.logout' },
      { resourceType: 'conversation' },
      { resourceId: 'u-2' },
      { outcome: AuditOutcome.FAILURE },
      { ip: '10.0.0.1' },
      { requestId: 'r-2' },
      { metadata: { a: 1, b: 3 } },
      { prevHash: 'f'.repeat(64) },
    ];
    for (const change of changes) expect(keyedHash(event(change), key)).not.toBe(base);
    expect(keyedHash(event(), deriveChainKey('b'.repeat(64)))).not.toBe(base);
    expect(base).not.toBe(legacyHash(event()));
  });

  it('picks the hash by the key id the event names: legacy without one, null for an unknown key', () => {
    const keys = chainKeys('a'.repeat(64), 'b'.repeat(64));
    expect(expectedHash(event(), keys)).toBe(legacyHash(event()));
    expect(expectedHash(event({ keyId: key.id }), keys)).toBe(keyedHash(event(), key));
    expect(expectedHash(event({ keyId: keys[1].id }), keys)).toBe(keyedHash(event(), keys[1]));
    expect(expectedHash(event({ keyId: '0123456789abcdef' }), keys)).toBeNull();
  });

  it('signs a head so that a changed sequence, hash or time no longer verifies', () => {
    const head = { seq: '5', hash: 'a'.repeat(64), at: '2026-12-01T12:00:00.000Z' };
    const mac = signHead(key, head);
    expect(signHead(key, { ...head })).toBe(mac);
    expect(signHead(key, { ...head, seq: '6' })).not.toBe(mac);
    expect(signHead(key, { ...head, hash: 'b'.repeat(64) })).not.toBe(mac);
    expect(signHead(key, { ...head, at: '2026-12-01T12:00:01.000Z' })).not.toBe(mac);
    expect(signHead(deriveChainKey('b'.repeat(64)), head)).not.toBe(mac);
  });
});
