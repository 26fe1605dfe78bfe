import { bearer, login, me, registerUser, type Registered } from '../helpers/auth';
import { acknowledgedWs, authedWs, createConversation, sendMessage, streamReply } from '../helpers/chat';
import { gql, sql, useTestServer } from '../helpers/server';

const ADMIN = { email: 'root@example.com', password: 'an admin passphrase nobody guesses' };
const ADMIN_OPS = [
  'query { users { edges { node { id } } } }',
  'mutation { setUserRole(userId: "00000000-0000-4000-8000-000000000000", role: USER) { id } }',
  'mutation { lockUser(userId: "00000000-0000-4000-8000-000000000000", minutes: 5, reason: "x") { id } }',
  'mutation { unlockUser(userId: "00000000-0000-4000-8000-000000000000") { id } }',
  'mutation { revokeUserSessions(userId: "00000000-0000-4000-8000-000000000000") }',
];
const AUDITOR_OPS = [
  'query { auditEvents { edges { node { id } } } }',
  'query { verifyAuditChain { valid } }',
  'query { securitySummary(since: "2020-01-01T00:00:00Z") { failedLogins } }',
];

describe('admin and auditor operations', () => {
  const t = useTestServer({ env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password } });
  let admin: string;
  const as = (token: string) => bearer(token);
  const op = (q: string, token: string, v?: Record<string, unknown>) => gql(t.graphqlUrl, q, v, as(token));

  beforeAll(async () => {
    admin = (await login(t.graphqlUrl, ADMIN.email, ADMIN.password)).body.data.login.accessToken;
  });

  async function auditor(): Promise<Registered & { token: string }> {
    const u = await registerUser(t.graphqlUrl);
    await op('mutation R($id: ID!) { setUserRole(userId: $id, role: AUDITOR) { role } }', admin, { id: u.userId });
    const token = (await login(t.graphqlUrl, u.email, u.password)).body.data.login.accessToken;
    return { ...u, token };
  }

  it('refuses every admin operation to a USER and an AUDITOR (FORBIDDEN), and auditor operations to a USER', async () => {
    const user = await registerUser(t.graphqlUrl);
    const aud = await auditor();
    for (const q of ADMIN_OPS) {
      expect((await op(q, user.accessToken)).body.errors[0].extensions.code).toBe('FORBIDDEN');
      expect((await op(q, aud.token)).body.errors[0].extensions.code).toBe('FORBIDDEN');
      expect((await gql(t.graphqlUrl, q)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
    for (const q of AUDITOR_OPS) {
      expect((await op(q, user.accessToken)).body.errors[0].extensions.code).toBe('FORBIDDEN');
      expect((await op(q, aud.token)).body.errors).toBeUndefined();
      expect((await op(q, admin)).body.errors).toBeUndefined();
    }
    const ws = authedWs(t.wsUrl, user.accessToken);
    const first = await new Promise<any>((resolve, reject) =>
      ws.subscribe({ query: 'subscription { auditEventAdded { id } }' }, { next: resolve, error: reject, complete: () => resolve(null) }),
    );
    expect(first.errors[0].extensions.code).toBe('FORBIDDEN');
    await ws.dispose();
  });

  it('shows admins each user with email and usage; an auditor gets neither', async () => {
    const user = await registerUser(t.graphqlUrl);
    const conv = await createConversation(t.graphqlUrl, user.accessToken);
    for (const text of ['first question', 'second question']) {
      const { assistantMessage } = (await sendMessage(t.graphqlUrl, user.accessToken, conv, text)).body.data.sendMessage;
      const ws = authedWs(t.wsUrl, user.accessToken);
      await streamReply(ws, assistantMessage.id);
      await ws.dispose();
    }
    const q =
      'query U($f: UserFilter) { users(filter: $f, first: 5) { edges { node { id email role usage(since: "2020-01-01T00:00:00Z") { messages promptTokens completionTokens } } } } }';
    const res = await op(q, admin, { f: { emailContains: user.email.slice(0, 12).toUpperCase() } });
    expect(res.body.errors).toBeUndefined();
    const node = res.body.data.users.edges.map((e: any) => e.node).find((n: any) => n.id === user.userId);
    expect(node.email).toBe(user.email);
    expect(node.usage.messages).toBe(2);
    expect(node.usage.promptTokens).toBeGreaterThan(0);
    expect(node.usage.completionTokens).toBeGreaterThan(0);
    const roles = await op('query U($f: UserFilter) { users(filter: $f) { edges { node { role } } } }', admin, { f: { role: 'ADMIN' } });
    expect(roles.body.data.users.edges.map((e: any) => e.node.role)).toEqual(['ADMIN']);
    const aud = await auditor();
    expect((await op(q, aud.token, { f: {} })).body.errors[0].extensions.code).toBe('FORBIDDEN');
  });

  it('no one changes their own role', async () => {
    const [{ id: adminId }] = await sql(t, `select id from "user" where email = ?`, [ADMIN.email]);
    const self = await op('mutation R($id: ID!) { setUserRole(userId: $id, role: USER) { role } }', admin, { id: adminId });
    expect(self.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });

  it('the last admin cannot be demoted, even by two admins demoting each other at once', async () => {
    const [{ id: rootId }] = await sql(t, `select id from "user" where email = ?`, [ADMIN.email]);
    // Directly: another admin's request to demote the only admin is refused.
    const other = await registerUser(t.graphqlUrl);
    await expect(
      t.server.services.admin.setUserRole(
        t.db.orm.em.fork() as never,
        { userId: other.userId, role: 'ADMIN' as never, sessionId: 'x', expiresAt: new Date(Date.now() + 60_000) },
        rootId,
        'USER' as never,
        { requestId: 'r' },
      ),
    ).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    // Two admins racing: exactly one admin remains.
    const a = await registerUser(t.graphqlUrl);
    const b = await registerUser(t.graphqlUrl);
    for (const u of [a, b]) await op('mutation R($id: ID!) { setUserRole(userId: $id, role: ADMIN) { role } }', admin, { id: u.userId });
    await op('mutation R($id: ID!) { setUserRole(userId: $id, role: USER) { role } }', admin, { id: rootId }).catch(() => undefined); // refused: self
    const ta = (await login(t.graphqlUrl, a.email, a.password)).body.data.login.accessToken;
    const tb = (await login(t.graphqlUrl, b.email, b.password)).body.data.login.accessToken;
    // Demote root through a, leaving a and b; then a and b demote each other at once.
    expect((await op('mutation R($id: ID!) { setUserRole(userId: $id, role: USER) { role } }', ta, { id: rootId })).body.data.setUserRole.role).toBe('USER');
    await Promise.all([
      op('mutation R($id: ID!) { setUserRole(userId: $id, role: USER) { role } }', ta, { id: b.userId }),
      op('mutation R($id: ID!) { setUserRole(userId: $id, role: USER) { role } }', tb, { id: a.userId }),
    ]);
    expect(await sql(t, `select id from "user" where role = 'ADMIN'`)).toHaveLength(1);
    // Put the bootstrap admin back for the other tests.
    await sql(t, `update "user" set role = 'ADMIN' where id = ?`, [rootId]);
    admin = (await login(t.graphqlUrl, ADMIN.email, ADMIN.password)).body.data.login.accessToken;
    const roleEvents = await sql(t, `select metadata from audit_event where action = 'admin.user.role' and resource_id = ?`, [rootId]);
    expect(roleEvents[0].metadata).toEqual({ from: 'ADMIN', to: 'USER' });
  });

  it('lockUser ends sessions, closes an open WebSocket with 4403, and makes login ACCOUNT_LOCKED; unlockUser lifts it', async () => {
    const u = await registerUser(t.graphqlUrl);
    const { client: ws, closed } = await acknowledgedWs(t.wsUrl, u.accessToken);
    const res = await op('mutation L($id: ID!) { lockUser(userId: $id, minutes: 30, reason: "abuse report #12") { id lockedUntil } }', admin, { id: u.userId });
    expect(new Date(res.body.data.lockUser.lockedUntil).getTime()).toBeGreaterThan(Date.now() + 29 * 60_000);
    expect(await closed).toBe(4403);
    await ws.dispose();
    expect((await me(t.graphqlUrl, u.accessToken)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await login(t.graphqlUrl, u.email, u.password)).body.errors[0].extensions.code).toBe('ACCOUNT_LOCKED');
    const locked = await op('query { users(filter: { locked: true }) { edges { node { id } } } }', admin);
    expect(locked.body.data.users.edges.map((e: any) => e.node.id)).toContain(u.userId);
    await op('mutation U($id: ID!) { unlockUser(userId: $id) { id lockedUntil } }', admin, { id: u.userId });
    expect((await login(t.graphqlUrl, u.email, u.password)).body.errors).toBeUndefined();
    const actions = (await sql(t, `select action from audit_event where resource_id = ? and action like 'admin.%' order by seq`, [u.userId])).map(
      (r) => r.action,
    );
    expect(actions).toEqual(['admin.user.lock', 'admin.user.unlock']);
  });

  it('revokeUserSessions ends every session of the user', async () => {
    const u = await registerUser(t.graphqlUrl);
    const second = (await login(t.graphqlUrl, u.email, u.password)).body.data.login.accessToken;
    expect((await op('mutation R($id: ID!) { revokeUserSessions(userId: $id) }', admin, { id: u.userId })).body.data.revokeUserSessions).toBe(true);
    for (const token of [u.accessToken, second]) expect((await me(t.graphqlUrl, token)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(await sql(t, `select id from audit_event where action = 'admin.user.sessions_revoked' and resource_id = ?`, [u.userId])).toHaveLength(1);
  });

  it('answers an unknown user id with NOT_FOUND', async () => {
    const res = await op('mutation { unlockUser(userId: "00000000-0000-4000-8000-000000000000") { id } }', admin);
    expect(res.body.errors[0].extensions.code).toBe('NOT_FOUND');
  });
});
