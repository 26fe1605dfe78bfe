import http, { type ClientRequest } from 'node:http';
import { once } from 'node:events';
import { EXPORT_BATCH } from '../../src/audit/audit-export';
import { bearer, login, registerUser, type Registered } from '../helpers/auth';
import { gql, sql, useTestServer } from '../helpers/server';

const ADMIN = { email: 'export-root@example.com', password: 'an admin passphrase nobody guesses' };
const EVENTS = `query E($filter: AuditFilter, $first: Int, $after: String, $order: SortOrder) {
  auditEvents(filter: $filter, first: $first, after: $after, order: $order) {
    edges { cursor node { seq action actorId } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

describe('reading and exporting the audit trail', () => {
  const t = useTestServer({ env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password } });
  let admin: string;
  let auditor: Registered & { token: string };

  beforeAll(async () => {
    admin = (await login(t.graphqlUrl, ADMIN.email, ADMIN.password)).body.data.login.accessToken;
    const u = await registerUser(t.graphqlUrl);
    await gql(t.graphqlUrl, 'mutation R($id: ID!) { setUserRole(userId: $id, role: AUDITOR) { role } }', { id: u.userId }, bearer(admin));
    auditor = { ...u, token: (await login(t.graphqlUrl, u.email, u.password)).body.data.login.accessToken };
  });

  const events = async (variables: Record<string, unknown>, token = admin) => {
    const r = await gql(t.graphqlUrl, EVENTS, variables, bearer(token));
    if (r.body.errors) throw new Error(JSON.stringify(r.body.errors));
    return r.body.data.auditEvents;
  };
  const exportLines = async (query: string, token = auditor.token) => {
    const res = await fetch(`${t.url}/audit/export.ndjson${query}`, { headers: { authorization: `Bearer ${token}` } });
    const text = await res.text();
    return {
      res,
      lines:
        res.status === 200
          ? text
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l))
          : [],
      text,
    };
  };

  it('pages newest first by default and oldest first with order: ASC, with both page ends (users too)', async () => {
    const desc = await events({ first: 2 });
    const seqs = desc.edges.map((e: any) => e.node.seq);
    expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);
    expect(desc.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true, startCursor: desc.edges[0].cursor });

    const asc = await events({ first: 3, order: 'ASC' });
    expect(asc.edges.map((e: any) => e.node.seq)).toEqual([1, 2, 3]);
    expect(asc.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true, endCursor: asc.edges[2].cursor });
    const next = await events({ first: 3, order: 'ASC', after: asc.pageInfo.endCursor });
    expect(next.edges.map((e: any) => e.node.seq)).toEqual([4, 5, 6]);
    expect(next.pageInfo.hasPreviousPage).toBe(true);

    // Every connection fills both ends: users too.
    const USERS =
      'query U($after: String) { users(first: 1, after: $after) { edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }';
    const firstUser = (await gql(t.graphqlUrl, USERS, {}, bearer(admin))).body.data.users;
    expect(firstUser.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true, startCursor: firstUser.edges[0].cursor });
    const secondUser = (await gql(t.graphqlUrl, USERS, { after: firstUser.pageInfo.endCursor }, bearer(admin))).body.data.users;
    expect(secondUser.pageInfo).toMatchObject({ hasPreviousPage: true, startCursor: secondUser.edges[0].cursor });
  });

  it('filters by action prefix (wildcards literal) and can leave out data.read events', async () => {
    const u = await registerUser(t.graphqlUrl);
    await login(t.graphqlUrl, u.email, u.password);
    const created = await gql(t.graphqlUrl, 'mutation { createConversation(input: {}) { id } }', undefined, bearer(u.accessToken));
    const id = created.body.data.createConversation.id;
    await gql(t.graphqlUrl, 'query Q($id: ID!) { conversation(id: $id) { id } }', { id }, bearer(u.accessToken)); // a read
    await t.server.services.audit.flushReads();

    const auth = await events({ first: 100, filter: { actorId: u.userId, actionPrefix: 'auth.' } });
    expect(auth.edges.map((e: any) => e.node.action).sort()).toEqual(['auth.login', 'auth.register']);
    expect((await events({ first: 100, filter: { actorId: u.userId, actionPrefix: 'auth%' } })).edges).toEqual([]);
    expect((await events({ first: 100, filter: { actorId: u.userId, actionPrefix: 'auth_' } })).edges).toEqual([]);

    const all = (await events({ first: 100, filter: { actorId: u.userId } })).edges.map((e: any) => e.node.action);
    expect(all).toContain('data.read');
    const noReads = (await events({ first: 100, filter: { actorId: u.userId, excludeReads: true } })).edges.map((e: any) => e.node.action);
    expect(noReads.sort()).toEqual(all.filter((a: string) => a !== 'data.read').sort());

    const long = await gql(t.graphqlUrl, EVENTS, { filter: { actionPrefix: 'a'.repeat(101) } }, bearer(admin));
    expect(long.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('exports NDJSON after a seq, oldest first, in batches, with the same filters; one audit.export row each', async () => {
    // Enough events for several batches, written by the real audit service (its batched read records).
    for (let i = 0; i < EXPORT_BATCH * 2 + 20; i++) t.server.services.audit.recordRead({ resourceType: 'bulk', resourceId: String(i) });
    await t.server.services.audit.flushReads();
    const [{ head }] = await sql(t, 'select max(seq)::int as head from audit_event');
    const [{ firstBulk }] = await sql(t, `select min(seq)::int as "firstBulk" from audit_event where resource_type = 'bulk'`);

    const connection = t.db.orm.em.getConnection();
    const spy = jest.spyOn(connection, 'execute');
    let all: Awaited<ReturnType<typeof exportLines>>;
    let statements: string[];
    try {
      all = await exportLines('?afterSeq=0');
      statements = spy.mock.calls.map(([q]) => String(q));
    } finally {
      spy.mockRestore();
    }
    expect(all.res.status).toBe(200);
    expect(all.res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    // Every event up to the export's start, in order, without a gap, each with the AuditEvent fields.
    expect(all.lines.map((l) => l.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
    expect(Object.keys(all.lines[0]).sort()).toEqual(
      ['action', 'actorId', 'actorRole', 'at', 'hash', 'id', 'ip', 'metadata', 'outcome', 'prevHash', 'requestId', 'resourceId', 'resourceType', 'seq'].sort(),
    );
    expect(all.lines[1].prevHash).toBe(all.lines[0].hash);
    // One bounded read per batch, never the whole table at once.
    const reads = statements.filter((q) => /from "audit_event"[\s\S]*limit/.test(q));
    expect(reads.length).toBeGreaterThanOrEqual(Math.ceil(head / EXPORT_BATCH));

    const after = await exportLines(`?afterSeq=${firstBulk + 10}&actionPrefix=data.&resourceType=bulk&outcome=SUCCESS`);
    expect(after.lines.map((l) => l.resourceId)).toEqual(Array.from({ length: EXPORT_BATCH * 2 + 9 }, (_, i) => String(i + 11)));
    const noReads = await exportLines('?excludeReads=true', admin);
    expect(noReads.lines.length).toBeGreaterThan(0);
    expect(noReads.lines.some((l) => l.action === 'data.read')).toBe(false);

    await t.server.services.audit.flushReads();
    const exports = await sql(t, `select actor_id, outcome, metadata from audit_event where action = 'audit.export' order by seq`);
    expect(exports).toHaveLength(3);
    expect(exports[0]).toMatchObject({ actor_id: auditor.userId, outcome: 'SUCCESS', metadata: { afterSeq: 0, untilSeq: head, filters: [] } });
    expect(exports[1].metadata.filters.sort()).toEqual(['actionPrefix', 'outcome', 'resourceType']);
    // An export is recorded once, not as reads.
    expect(await sql(t, `select id from audit_event where action = 'data.read' and actor_id = ?`, [auditor.userId])).toEqual([]);
  });

  it('refuses a missing or bad token (401), a USER (403) and bad parameters (400), as JSON', async () => {
    const before = (await sql(t, `select count(*)::int as n from audit_event where action = 'audit.export'`))[0].n;
    const anonymous = await fetch(`${t.url}/audit/export.ndjson`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await exportLines('', 'not-a-token')).res.status).toBe(401);
    const user = await registerUser(t.graphqlUrl);
    const refused = await exportLines('', user.accessToken);
    expect(refused.res.status).toBe(403);
    expect(JSON.parse(refused.text).errors[0].extensions.code).toBe('FORBIDDEN');

    // An admin's API key is not an admin session.
    const key = await gql(t.graphqlUrl, 'mutation { createApiKey(name: "siem") { secret } }', undefined, bearer(admin));
    const viaKey = await exportLines('', key.body.data.createApiKey.secret);
    expect(viaKey.res.status).toBe(403);
    expect(JSON.parse(viaKey.text).errors[0].extensions.code).toBe('FORBIDDEN');

    for (const bad of [
      '?afterSeq=-1',
      '?afterSeq=abc',
      '?afterSeq=1&afterSeq=2',
      '?outcome=MAYBE',
      '?excludeReads=yes',
      '?from=yesterday',
      '?actorId=nope',
      '?sort=1',
    ]) {
      const r = await exportLines(bad);
      expect([bad, r.res.status]).toEqual([bad, 400]);
      expect(JSON.parse(r.text).errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(r.text).not.toMatch(/select|stack|at \//i);
    }
    // Refusals export nothing and are not recorded as exports.
    expect((await sql(t, `select count(*)::int as n from audit_event where action = 'audit.export'`))[0].n).toBe(before);
  });

  it('holds a slot per export while its reader stalls: a third export at once is 429, and a reader that leaves frees its slot', async () => {
    // Enough lines that a reader that stops reading fills the socket buffers and the server waits.
    for (let i = 0; i < 20_000; i++) t.server.services.audit.recordRead({ resourceType: 'stall', resourceId: String(i) });
    await t.server.services.audit.flushReads();
    const stalled = await Promise.all([stalledExport(), stalledExport()]);
    const third = await exportLines('?resourceType=stall');
    expect(third.res.status).toBe(429);
    expect(third.res.headers.get('retry-after')).toBe('5');
    expect(JSON.parse(third.text)).toMatchObject({ errors: [{ extensions: { code: 'RATE_LIMITED' } }] });
    // A reader that goes away frees its slot.
    for (const s of stalled) s.destroy();
    await Promise.all(stalled.map((s) => once(s, 'close')));
    const [{ head }] = await sql(t, 'select max(seq)::int as head from audit_event');
    for (;;) {
      const next = await exportLines(`?afterSeq=${head - 1}`);
      if (next.res.status === 429) {
        await new Promise((r) => setTimeout(r, 50)); // the server has not seen the close yet
        continue;
      }
      expect(next.res.status).toBe(200);
      break;
    }
  });

  /** An export whose reader has its headers and then stops reading. */
  function stalledExport(): Promise<ClientRequest> {
    return new Promise((resolve, reject) => {
      const req = http.get(`${t.url}/audit/export.ndjson?resourceType=stall`, { headers: { authorization: `Bearer ${admin}` } }, (res) => {
        expect(res.statusCode).toBe(200);
        res.pause();
        resolve(req);
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    });
  }
});
