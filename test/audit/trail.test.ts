import { bearer, login, registerUser } from '../helpers/auth';
import { authedWs, createConversation } from '../helpers/chat';
import { gql, sql, useTestServer } from '../helpers/server';
import { AuditOutcome } from '../../src/audit/audit-event.entity';
import { purgeAuditPrefix } from '../../src/audit/audit-retention';

const ADMIN = { email: 'root@example.com', password: 'an admin passphrase nobody guesses' };
const EVENTS = `query E($filter: AuditFilter, $first: Int, $after: String) { auditEvents(filter: $filter, first: $first, after: $after) {
  edges { node { seq action actorId resourceType resourceId outcome ip at } cursor } pageInfo { hasNextPage endCursor } } }`;

describe('the audit trail over GraphQL', () => {
  // The reuse grace window off (it defaults to 10 s since issue 11), so the reuse below counts.
  const t = useTestServer({ env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password, REFRESH_REUSE_GRACE_SECONDS: '0' } });
  let admin: string;
  const events = async (filter: Record<string, unknown>, first = 50, after?: string) => {
    const r = await gql(t.graphqlUrl, EVENTS, { filter, first, after }, bearer(admin));
    if (r.body.errors) throw new Error(JSON.stringify(r.body.errors));
    return r.body.data.auditEvents;
  };
  beforeAll(async () => {
    admin = (await login(t.graphqlUrl, ADMIN.email, ADMIN.password)).body.data.login.accessToken;
  });

  it('filters by every field of AuditFilter', async () => {
    const u = await registerUser(t.graphqlUrl);
    await login(t.graphqlUrl, u.email, 'wrong password for filters');
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    const byActor = (await events({ actorId: u.userId })).edges.map((e: any) => e.node);
    expect(byActor.length).toBeGreaterThanOrEqual(2); // register, conversation create (a failed login has no actor: issue 9 item 12)
    expect(byActor.every((n: any) => n.actorId === u.userId)).toBe(true);
    expect((await events({ action: 'chat.conversation.create', actorId: u.userId })).edges).toHaveLength(1);
    expect((await events({ resourceType: 'conversation', resourceId: conv })).edges[0].node.action).toBe('chat.conversation.create');
    const failures = (await events({ outcome: 'FAILURE', resourceType: 'user', resourceId: u.userId })).edges.map((e: any) => [e.node.action, e.node.actorId]);
    expect(failures).toEqual([['auth.login', null]]);
    const ip = byActor[0].ip;
    expect((await events({ ip, actorId: u.userId })).edges.length).toBe(byActor.length);
    const at = new Date(byActor[byActor.length - 1].at);
    expect((await events({ actorId: u.userId, from: new Date(at.getTime() + 1).toISOString() })).edges.length).toBe(byActor.length - 1);
    expect((await events({ actorId: u.userId, to: at.toISOString() })).edges).toHaveLength(0);
  });

  it('pages newest first without overlap or gap', async () => {
    for (let i = 0; i < 5; i++) await registerUser(t.graphqlUrl);
    // A filter the listing's own read records cannot change.
    const filter = { action: 'auth.register' };
    const all = (await events(filter, 50)).edges.map((e: any) => e.node.seq);
    expect(all.length).toBeGreaterThan(3);
    const paged: number[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await events(filter, 2, after);
      paged.push(...page.edges.map((e: any) => e.node.seq));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(paged).toEqual(all);
    expect(new Set(paged).size).toBe(paged.length);
    expect([...paged].sort((a, b) => b - a)).toEqual(paged);
  });

  it('records reads (data.read) once per operation, without the request waiting for them', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    await gql(t.graphqlUrl, 'query Q($id: ID!) { conversation(id: $id) { id messages { edges { cursor } } } }', { id: conv }, bearer(u.accessToken));
    await t.server.services.audit.flushReads();
    // One event per operation, listing what it read (issue 9 item 5).
    const reads = await sql(t, `select metadata from audit_event where action = 'data.read' and actor_id = ? order by seq`, [u.userId]);
    expect(reads).toEqual([
      {
        metadata: {
          reads: [
            { type: 'conversation', id: conv },
            { type: 'conversation.messages', id: conv },
          ],
          total: 2,
        },
      },
    ]);
    await events({ action: 'data.read' });
    await t.server.services.audit.flushReads();
    expect((await sql(t, `select id from audit_event where action = 'data.read' and resource_type = 'audit_event'`)).length).toBeGreaterThan(0);
  });

  it('delivers the live tail to an auditor: a login made by someone else', async () => {
    const ws = authedWs(t.wsUrl, admin);
    const u = await registerUser(t.graphqlUrl);
    let live!: () => void;
    const subscribed = new Promise<void>((resolve) => (live = resolve));
    const seen = new Promise<any>((resolve, reject) => {
      ws.subscribe(
        { query: 'subscription { auditEventAdded { seq action actorId outcome hash prevHash } }' },
        {
          next: (r: any) => {
            if (r.errors) reject(r.errors);
            else if (r.data.auditEventAdded.action === 'test.probe') live();
            else if (r.data.auditEventAdded.action === 'auth.login' && r.data.auditEventAdded.actorId === u.userId) resolve(r.data.auditEventAdded);
          },
          error: reject,
          complete: () => undefined,
        },
      );
    });
    // The tail is live once a probe event reaches it; only then does the other person log in.
    while (!(await Promise.race([subscribed.then(() => true), new Promise((r) => setTimeout(() => r(false), 100))]))) {
      await t.server.services.audit.append({ action: 'test.probe', outcome: AuditOutcome.SUCCESS });
    }
    await login(t.graphqlUrl, u.email, u.password);
    const e = await seen;
    expect(e).toMatchObject({ action: 'auth.login', outcome: 'SUCCESS', actorId: u.userId });
    expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
    await ws.dispose();
  });

  it('security summary numbers match what happened', async () => {
    const since = new Date().toISOString();
    const u = await registerUser(t.graphqlUrl);
    for (let i = 0; i < 3; i++) await login(t.graphqlUrl, u.email, `wrong password ${i}`);
    const next = (await gql(t.graphqlUrl, 'mutation F($t: String) { refreshSession(refreshToken: $t) { refreshToken } }', { t: u.refreshToken })).body.data
      .refreshSession;
    void next;
    await gql(t.graphqlUrl, 'mutation F($t: String) { refreshSession(refreshToken: $t) { refreshToken } }', { t: u.refreshToken }); // reuse
    const res = await gql(
      t.graphqlUrl,
      'query S($since: DateTime!) { securitySummary(since: $since) { failedLogins lockedAccounts rateLimited reusedRefreshTokens topFailingIps { ip count } } }',
      { since },
      bearer(admin),
    );
    expect(res.body.data.securitySummary).toMatchObject({ failedLogins: 3, lockedAccounts: 0, rateLimited: 0, reusedRefreshTokens: 1 });
    expect(res.body.data.securitySummary.topFailingIps[0].count).toBe(3);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/parley_security_events_total\{event="token_reuse"\} [1-9]/);
    expect(metrics).toMatch(/parley_security_events_total\{event="failed_login"\} [3-9]/);
  });

  it('verifyAuditChain passes, then finds a row altered and a row deleted in PostgreSQL at the right seq', async () => {
    const verify = async () =>
      (await gql(t.graphqlUrl, '{ verifyAuditChain { valid checked firstBrokenSeq } }', undefined, bearer(admin))).body.data.verifyAuditChain;
    const ok = await verify();
    expect(ok.valid).toBe(true);
    expect(ok.checked).toBeGreaterThan(10);
    const [{ seq: altered }] = await sql(t, `select seq from audit_event order by seq offset 4 limit 1`);
    await sql(t, `update audit_event set ip = '6.6.6.6' where seq = ?`, [altered]);
    expect(await verify()).toMatchObject({ valid: false, firstBrokenSeq: Number(altered) });
    await sql(t, `update audit_event set ip = (select ip from audit_event where seq = ? + 1) where seq = ?`, [altered, altered]).catch(() => undefined);
    const [{ seq: deleted }] = await sql(t, `select seq from audit_event order by seq offset 2 limit 1`);
    await sql(t, `delete from audit_event where seq = ?`, [deleted]);
    expect((await verify()).firstBrokenSeq).toBe(Number(deleted));
  });
});

describe('audit retention', () => {
  const t = useTestServer();

  it('purges an old prefix behind a checkpoint, and verification starts from the checkpoint', async () => {
    for (let i = 0; i < 4; i++) await registerUser(t.graphqlUrl);
    const total = (await sql(t, 'select count(*)::int as n from audit_event'))[0].n;
    expect(total).toBeGreaterThan(2);
    // Age the first two events past the retention period.
    await sql(t, `update audit_event set at = now() - interval '400 days' where seq <= 2`);
    const purged = await purgeAuditPrefix(t.server.services.audit, t.db.orm.em.fork(), 365);
    expect(purged).toBe(2);
    const rows = await sql(t, 'select seq, action, metadata from audit_event order by seq');
    expect(Number(rows[0].seq)).toBe(3);
    const checkpoint = rows[rows.length - 1];
    expect(checkpoint.action).toBe('audit.checkpoint');
    expect(checkpoint.metadata.purgedThroughSeq).toBe('2');
    expect(rows).toHaveLength(total - 2 + 1);
    expect(await t.server.services.audit.verify(t.db.orm.em.fork() as never)).toMatchObject({ valid: true, firstBrokenSeq: null });
    // Without its checkpoint, the purged chain does not verify.
    await sql(t, `delete from audit_event where action = 'audit.checkpoint'`);
    expect(await t.server.services.audit.verify(t.db.orm.em.fork() as never)).toMatchObject({ valid: false, firstBrokenSeq: 3 });
  });
});
