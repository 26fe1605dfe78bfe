import { AuditOutcome } from '../../src/audit/audit-event.entity';
import { sql, useTestServer } from '../helpers/server';
import { login, registerUser } from '../helpers/auth';

describe('the audit hash chain', () => {
  const t = useTestServer();
  const q = (query: string, params: unknown[] = []) => sql(t, query, params);

  it('stays intact after 50 concurrent logins', async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => registerUser(t.graphqlUrl)));
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => login(t.graphqlUrl, users[i % 5].email, users[i % 5].password)));
    expect(results.filter((r) => r.body.errors)).toHaveLength(0);
    const report = await t.server.services.audit.verify(t.db.orm.em.fork());
    expect(report).toEqual({ valid: true, checked: expect.any(Number), firstBrokenSeq: null });
    const seqs = (await q('select seq from audit_event order by seq')).map((r: { seq: string }) => Number(r.seq));
    expect(report.checked).toBe(seqs.length);
    expect(seqs).toEqual(seqs.map((_: number, i: number) => i + 1)); // gapless from 1
    const ids = users.map((u) => u.userId);
    expect(await q(`select * from audit_event where action = 'auth.login' and outcome = 'SUCCESS' and actor_id in (?, ?, ?, ?, ?)`, ids)).toHaveLength(50);
  });

  it('group-commits concurrent failure records and keeps the chain intact (interleaved with transactional records)', async () => {
    const u = await registerUser(t.graphqlUrl);
    const before = (await q(`select count(*)::int as n from audit_event where action = 'auth.login' and outcome = 'FAILURE'`))[0].n;
    const attempts = Array.from({ length: 40 }, (_, i) => login(t.graphqlUrl, `ghost-${i}@example.com`, 'wrong password here'));
    const successes = Array.from({ length: 5 }, () => login(t.graphqlUrl, u.email, u.password));
    await Promise.all([...attempts, ...successes]);
    const after = (await q(`select count(*)::int as n from audit_event where action = 'auth.login' and outcome = 'FAILURE'`))[0].n;
    expect(after - before).toBe(40);
    expect((await t.server.services.audit.verify(t.db.orm.em.fork())).valid).toBe(true);
  });

  /** A fresh user with two logins after its registration: events of its own, followed by later ones. */
  const userWithEvents = async () => {
    const u = await registerUser(t.graphqlUrl);
    for (let i = 0; i < 2; i++) expect((await login(t.graphqlUrl, u.email, u.password)).body.errors).toBeUndefined();
    return u;
  };
  /** The seq and outcome of the user's first login event (a later event follows it). */
  const firstLogin = async (userId: string) =>
    (await q(`select seq, outcome from audit_event where action = 'auth.login' and actor_id = ? order by seq limit 1`, [userId]))[0] as {
      seq: string;
      outcome: string;
    };

  it('links each event to the one before', async () => {
    await userWithEvents();
    const rows = await q('select seq, hash, prev_hash from audit_event order by seq');
    expect(rows[0].prev_hash).toBe('0'.repeat(64));
    for (let i = 1; i < rows.length; i++) expect(rows[i].prev_hash).toBe(rows[i - 1].hash);
  });

  it('finds a row altered directly in PostgreSQL', async () => {
    const target = await firstLogin((await userWithEvents()).userId);
    await q(`update audit_event set outcome = ? where seq = ?`, [target.outcome === 'FAILURE' ? 'SUCCESS' : 'FAILURE', target.seq]);
    const report = await t.server.services.audit.verify(t.db.orm.em.fork(), 7);
    expect(report.valid).toBe(false);
    expect(report.firstBrokenSeq).toBe(Number(target.seq));
    await q(`update audit_event set outcome = ? where seq = ?`, [target.outcome, target.seq]);
    expect((await t.server.services.audit.verify(t.db.orm.em.fork())).valid).toBe(true);
  });

  it('finds a row deleted directly in PostgreSQL', async () => {
    const target = await firstLogin((await userWithEvents()).userId);
    await q(`delete from audit_event where seq = ?`, [target.seq]);
    const report = await t.server.services.audit.verify(t.db.orm.em.fork());
    expect(report).toMatchObject({ valid: false, firstBrokenSeq: Number(target.seq) });
  });

  it('refuses an action that is not dotted lower case', async () => {
    await expect(t.server.services.audit.record(t.db.orm.em.fork(), { action: 'Login', outcome: AuditOutcome.SUCCESS })).rejects.toThrow(/dotted lower case/);
  });
});
