import pg from 'pg';
import { bearer, registerUser } from '../helpers/auth';
import { createConversation } from '../helpers/chat';
import { gql, sql, useTestServer } from '../helpers/server';

// Issue 9 item 5: every refused field wrote a `security.rate_limited` row (an anonymous 16-field
// request wrote 16), every aliased read wrote its own `data.read` rows, and the queue was unbounded.
const SIXTEEN_FIELDS = `{ captchaChallenge { provider } ${Array.from({ length: 15 }, (_, i) => `a${i}: captchaChallenge { provider }`).join(' ')} }`;
const AUDIT_LOCK_KEY = 7_283_115_002; // the chain's advisory lock (audit.service.ts)

const rowCount = async (t: Parameters<typeof sql>[0]) => Number((await sql(t, 'select count(*) as n from audit_event'))[0].n);

describe('audit volume under refused and aliased requests (issue 9 item 5)', () => {
  const t = useTestServer({ env: { RATE_LIMIT_SCALE: '1', RATE_LIMIT_CAPTCHA: '1/600' } });

  it('100 refused anonymous requests of 16 rate-limited fields add one row, counting every refused field', async () => {
    const before = await rowCount(t);
    let refusedRequests = 0;
    for (let batch = 0; batch < 10; batch++) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => gql(t.graphqlUrl, SIXTEEN_FIELDS)));
      // A non-null field refused nulls the whole answer: one error is shown, every field was refused.
      refusedRequests += answers.filter((a) => a.body.errors?.[0]?.extensions.code === 'RATE_LIMITED').length;
    }
    expect(refusedRequests).toBe(100);
    await t.server.services.audit.flush(); // the window (10 minutes) closes later; shutdown does the same
    const rows = await sql(t, `select metadata, resource_id, ip from audit_event where action = 'security.rate_limited'`);
    expect(rows).toHaveLength(1); // was 1,599: one per refused field
    expect(rows[0]).toMatchObject({ resource_id: 'Query.captchaChallenge', ip: expect.any(String), metadata: { count: 100 * 16 - 1 } });
    expect((await rowCount(t)) - before).toBe(1);
  });
});

describe('audit volume of aliased reads (issue 9 item 5)', () => {
  const t = useTestServer();

  it('one request with 15 aliased conversation reads writes one data.read row listing them', async () => {
    const u = await registerUser(t.graphqlUrl);
    const ids: string[] = [];
    for (let i = 0; i < 15; i++) ids.push(await createConversation(t.graphqlUrl, u.accessToken));
    await t.server.services.audit.flushReads();
    const before = await rowCount(t);
    const query = `{ ${ids.map((id, i) => `c${i}: conversation(id: "${id}") { id messages(first: 1) { edges { cursor } } }`).join(' ')} }`;
    const res = await gql(t.graphqlUrl, query, {}, bearer(u.accessToken));
    expect(res.body.errors).toBeUndefined();
    await t.server.services.audit.flushReads();
    const reads = await sql(t, `select resource_type, resource_id, metadata from audit_event where action = 'data.read' and actor_id = ?`, [u.userId]);
    expect(reads).toHaveLength(1); // was 30: one per conversation and one per message list
    expect(reads[0].metadata.total).toBe(30);
    expect(reads[0].metadata.reads).toHaveLength(30);
    expect(new Set(reads[0].metadata.reads.map((r: { id: string }) => r.id))).toEqual(new Set(ids));
    expect((await rowCount(t)) - before).toBe(1);
  });
});

describe('a full audit queue answers RATE_LIMITED instead of losing events (issue 9 item 5)', () => {
  const t = useTestServer({ env: { AUDIT_QUEUE_MAX: '2' } });

  it('refuses failed logins and reads past the bound while the chain is stalled, and records every one it accepted', async () => {
    const u = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, u.accessToken);
    await t.server.services.audit.flushReads();
    const failures = async () => Number((await sql(t, `select count(*) as n from audit_event where action = 'auth.login' and outcome = 'FAILURE'`))[0].n);
    const before = await failures();

    // Stall every append: hold the chain's lock from another connection, as a slow database would.
    const holder = new pg.Client({ connectionString: t.config.databaseUrl });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock($1)', [AUDIT_LOCK_KEY]);
      const N = 12;
      let settled = 0;
      let allRefusedSettled!: () => void;
      const refusedSettled = new Promise<void>((resolve) => (allRefusedSettled = resolve));
      // One event is being written (stalled) and two wait: those three requests hang, the rest are refused at once.
      const attempts = Array.from({ length: N }, () =>
        gql(
          t.graphqlUrl,
          'mutation { login(input: { email: "someone@example.com", password: "whatever it is", captcha: "not a captcha" }) { accessToken } }',
        ).then((r) => {
          settled += 1;
          if (settled === N - 3) allRefusedSettled();
          return r;
        }),
      );
      await refusedSettled;
      // A read while the queue is full is refused too, rather than served unrecorded.
      const read = await gql(t.graphqlUrl, `{ conversation(id: "${conv}") { id } }`, {}, bearer(u.accessToken));
      expect(read.body.errors[0].extensions.code).toBe('RATE_LIMITED');
      await holder.query('select pg_advisory_unlock($1)', [AUDIT_LOCK_KEY]);
      const codes = (await Promise.all(attempts)).map((r) => r.body.errors[0].extensions.code);
      expect(codes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(N - 3);
      expect(codes.filter((c) => c === 'CAPTCHA_INVALID')).toHaveLength(3);
      // Every attempt answered CAPTCHA_INVALID has its record: nothing accepted was lost.
      expect((await failures()) - before).toBe(3);
    } finally {
      await holder.end();
    }
  });
});
