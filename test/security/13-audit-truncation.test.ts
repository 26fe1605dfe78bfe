import { deriveChainKey, legacyHash, signHead } from '../../src/audit/audit-chain';
import { AuditOutcome } from '../../src/audit/audit-event.entity';
import { bearer, login, registerUser } from '../helpers/auth';
import { createTestDatabase, gql, sql, startTestServer, useTestServer, type TestServer } from '../helpers/server';

// Issue 9 item 13: deleting the newest audit rows went unnoticed, and the plain SHA-256 chain
// could be recomputed by anyone with write access to the database.
const ADMIN = { email: 'root@example.com', password: 'an admin passphrase nobody guesses' };
const VERIFY = 'query V($h: AuditHeadInput) { verifyAuditChain(expectedHead: $h) { valid checked firstBrokenSeq reason } }';

type Row = {
  seq: string;
  at: Date;
  actor_id: string | null;
  actor_role: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: string;
  ip: string | null;
  request_id: string | null;
  metadata: Record<string, unknown> | null;
};

/** What an attacker with database access can compute: the old, unkeyed hash of a row. */
function sha256Of(r: Row, prevHash: string): string {
  return legacyHash({
    seq: r.seq,
    at: new Date(r.at),
    actorId: r.actor_id,
    actorRole: r.actor_role as never,
    action: r.action,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    outcome: r.outcome as AuditOutcome,
    ip: r.ip,
    requestId: r.request_id,
    metadata: r.metadata,
    prevHash,
  });
}

/** Rewrites rows from `fromSeq` on, re-chaining them with plain SHA-256 (optionally also clearing the key id). */
async function recomputeWithSha256(t: TestServer, fromSeq: number, clearKeyId: boolean): Promise<void> {
  const rows: (Row & { prev_hash: string })[] = await sql(t, 'select * from audit_event where seq >= ? order by seq', [fromSeq]);
  let prev = rows[0].prev_hash;
  for (const r of rows) {
    const hash = sha256Of(r, prev);
    await sql(t, `update audit_event set hash = ?, prev_hash = ?${clearKeyId ? ', key_id = null' : ''} where seq = ?`, [hash, prev, r.seq]);
    prev = hash;
  }
}

describe('audit truncation and forgery (issue 9 item 13)', () => {
  const t = useTestServer({ env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password, AUDIT_HEAD_LOG_SECONDS: '1' } });
  let admin: string;
  const verify = async (h?: { seq: number; hash: string }) => {
    const r = await gql(t.graphqlUrl, VERIFY, { h }, bearer(admin));
    if (r.body.errors) throw new Error(JSON.stringify(r.body.errors));
    return r.body.data.verifyAuditChain;
  };
  const maxSeq = async () => Number((await sql(t, 'select max(seq) as m from audit_event'))[0].m);
  beforeAll(async () => {
    admin = (await login(t.graphqlUrl, ADMIN.email, ADMIN.password)).body.data.login.accessToken;
  });

  it('keys every new event: the stored hash is an HMAC, not the SHA-256 anyone could recompute', async () => {
    await registerUser(t.graphqlUrl);
    const rows: (Row & { prev_hash: string; hash: string; key_id: string })[] = await sql(t, 'select * from audit_event order by seq');
    for (const r of rows) {
      expect(r.key_id).toBe(deriveChainKey(t.config.secretKey).id);
      expect(r.hash).not.toBe(sha256Of(r, r.prev_hash));
    }
    expect(await verify()).toEqual({ valid: true, checked: expect.any(Number), firstBrokenSeq: null, reason: null });
  });

  it('refuses an expectedHead that is not a seq and a hex hash with BAD_USER_INPUT', async () => {
    const r = await gql(t.graphqlUrl, VERIFY, { h: { seq: 0, hash: 'nope' } }, bearer(admin));
    expect(r.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('fails when the newest 3 rows are deleted by SQL on the running server, and with the logged head on a fresh one', async () => {
    for (let i = 0; i < 2; i++) await registerUser(t.graphqlUrl);
    await t.server.services.audit.flushReads();
    const top = await maxSeq();
    // The signed checkpoint every instance writes to the log; an auditor copies it.
    const line = await t.logs.waitFor((l) => l.event === 'audit.head' && Number(l.seq) === top, 5000);
    expect(line.mac).toBe(signHead(deriveChainKey(t.config.secretKey), { seq: String(line.seq), hash: String(line.hash), at: String(line.at) }));
    const head = { seq: Number(line.seq), hash: String(line.hash) };

    // The attack: delete the newest 3 rows directly in PostgreSQL while the server runs.
    await sql(t, 'delete from audit_event where seq > ?', [top - 3]);
    const report = await verify();
    expect(report.valid).toBe(false);
    expect(report.firstBrokenSeq).toBe(top - 2);
    expect(report.reason).toMatch(/ends at seq .* before the newest event this server knows of/);
    await t.server.services.audit.flushReads();

    // A server that started after the deletion knows nothing newer: without the logged head the
    // (consistent) shorter chain passes; with it, the deletion shows.
    const fresh = await startTestServer({ databaseUrl: t.config.databaseUrl, env: { SECRET_KEY: t.config.secretKey } });
    try {
      expect((await fresh.server.services.audit.verify(fresh.db.orm.em.fork())).valid).toBe(true);
      const withHead = await fresh.server.services.audit.verify(fresh.db.orm.em.fork(), undefined, head);
      expect(withHead).toMatchObject({ valid: false, reason: expect.stringMatching(/before the expected head at seq \d+/) });
    } finally {
      await fresh.close();
    }
  });

  it('fails when a row is altered and the chain after it recomputed with plain SHA-256 (with or without its key id)', async () => {
    const own = await startTestServer({});
    try {
      for (let i = 0; i < 3; i++) await registerUser(own.graphqlUrl);
      const [{ seq }] = await sql(own, `select seq from audit_event order by seq offset 2 limit 1`);
      await sql(own, `update audit_event set outcome = 'FAILURE' where seq = ?`, [seq]);
      await recomputeWithSha256(own, Number(seq), false);
      const forged = await own.server.services.audit.verify(own.db.orm.em.fork());
      expect(forged).toMatchObject({ valid: false, firstBrokenSeq: Number(seq), reason: expect.stringMatching(/altered/) });
      // Downgrading the rewritten rows to the legacy (unkeyed) format does not help either.
      await recomputeWithSha256(own, Number(seq), true);
      const downgraded = await own.server.services.audit.verify(own.db.orm.em.fork());
      expect(downgraded).toMatchObject({ valid: false, firstBrokenSeq: Number(seq), reason: expect.stringMatching(/not keyed/) });
      // Nor does rewriting the whole table as legacy rows: the head this server knows no longer matches.
      await recomputeWithSha256(own, 1, true);
      const whole = await own.server.services.audit.verify(own.db.orm.em.fork());
      expect(whole).toMatchObject({ valid: false, reason: expect.stringMatching(/does not match the newest event this server knows of/) });
    } finally {
      await own.close();
    }
  });

  it('verifies across a key rotation (SECRET_KEY_PREVIOUS) and names a key it no longer holds', async () => {
    const db = await createTestDatabase();
    const oldKey = 'old-secret-key-for-the-rotation-test-0123456789';
    const newKey = 'new-secret-key-for-the-rotation-test-9876543210';
    try {
      const before = await startTestServer({ databaseUrl: db.url, env: { SECRET_KEY: oldKey } });
      await registerUser(before.graphqlUrl);
      await before.close();
      const rotated = await startTestServer({ databaseUrl: db.url, env: { SECRET_KEY: newKey, SECRET_KEY_PREVIOUS: oldKey } });
      try {
        await registerUser(rotated.graphqlUrl);
        const keyIds = (await sql(rotated, 'select distinct key_id from audit_event')).map((r: { key_id: string }) => r.key_id).sort();
        expect(keyIds).toEqual([deriveChainKey(oldKey).id, deriveChainKey(newKey).id].sort());
        expect((await rotated.server.services.audit.verify(rotated.db.orm.em.fork())).valid).toBe(true);
      } finally {
        await rotated.close();
      }
      const forgotten = await startTestServer({ databaseUrl: db.url, env: { SECRET_KEY: newKey } });
      try {
        const report = await forgotten.server.services.audit.verify(forgotten.db.orm.em.fork());
        expect(report).toMatchObject({ valid: false, firstBrokenSeq: 1, reason: expect.stringMatching(/key this server does not hold/) });
      } finally {
        await forgotten.close();
      }
    } finally {
      await db.drop();
    }
  });
});
