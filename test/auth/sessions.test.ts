import { randomBytes } from 'node:crypto';
import { gql, sql, startTestServer, useTestServer } from '../helpers/server';
import { bearer, login, me, refresh, registerUser } from '../helpers/auth';

describe('sessions and refresh tokens', () => {
  // The reuse grace window off (it defaults to 10 s since issue 11): any reuse is theft here.
  const t = useTestServer({ env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
  const q = (query: string, params: unknown[] = []) => sql(t, query, params);

  it('rotates: a refresh gives new tokens, both work, and the refresh token is stored only as a hash', async () => {
    const u = await registerUser(t.graphqlUrl);
    const res = await refresh(t.graphqlUrl, u.refreshToken);
    expect(res.body.errors).toBeUndefined();
    const next = res.body.data.refreshSession;
    expect(next.refreshToken).not.toBe(u.refreshToken);
    expect(next.accessToken).not.toBe(u.accessToken);
    expect((await me(t.graphqlUrl, next.accessToken)).body.data.me.id).toBe(u.userId);
    const stored = JSON.stringify(await q('select * from refresh_token'));
    expect(stored).not.toContain(u.refreshToken);
    expect(stored).not.toContain(next.refreshToken);
    expect(await q(`select * from audit_event where action = 'auth.refresh' and actor_id = ?`, [u.userId])).toHaveLength(1);
  });

  it('treats reuse of a rotated token as theft: TOKEN_REUSED, the whole session and its access tokens die', async () => {
    const u = await registerUser(t.graphqlUrl);
    const first = (await refresh(t.graphqlUrl, u.refreshToken)).body.data.refreshSession;
    const reuse = await refresh(t.graphqlUrl, u.refreshToken);
    expect(reuse.body.errors[0].extensions.code).toBe('TOKEN_REUSED');
    // Every token of that login is now dead: the rotated-in refresh token and both access tokens.
    expect((await refresh(t.graphqlUrl, first.refreshToken)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await me(t.graphqlUrl, first.accessToken)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await me(t.graphqlUrl, u.accessToken)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const audit = await q(`select * from audit_event where action = 'auth.token_reused' and actor_id = ?`, [u.userId]);
    expect(audit).toHaveLength(1);
    expect(audit[0].outcome).toBe('FAILURE');
    const logged = await t.logs.waitFor((l) => l.event === 'auth.token_reused' && l.userId === u.userId);
    expect(logged).toMatchObject({ security: true, level: 'warn' });
    expect(t.logs.raw.join('\n')).not.toContain(u.refreshToken);
  });

  it('lets exactly one of two concurrent refreshes with one token win', async () => {
    const u = await registerUser(t.graphqlUrl);
    const results = await Promise.all([refresh(t.graphqlUrl, u.refreshToken), refresh(t.graphqlUrl, u.refreshToken)]);
    const wins = results.filter((r) => !r.body.errors);
    expect(wins).toHaveLength(1);
    const loser = results.find((r) => r.body.errors)!;
    expect(['TOKEN_REUSED', 'UNAUTHENTICATED']).toContain(loser.body.errors![0].extensions.code);
  });

  it('refuses an unknown, empty or oversized refresh token', async () => {
    for (const token of ['nope', 'x'.repeat(1000)]) expect((await refresh(t.graphqlUrl, token)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await refresh(t.graphqlUrl)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('logout ends the session on the very next request', async () => {
    const u = await registerUser(t.graphqlUrl);
    const out = await gql(t.graphqlUrl, 'mutation { logout }', undefined, bearer(u.accessToken));
    expect(out.body.data.logout).toBe(true);
    expect((await me(t.graphqlUrl, u.accessToken)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await refresh(t.graphqlUrl, u.refreshToken)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('logoutAll ends every session of the user, and only theirs', async () => {
    const u = await registerUser(t.graphqlUrl);
    const other = await registerUser(t.graphqlUrl);
    const second = (await login(t.graphqlUrl, u.email, u.password)).body.data.login;
    await gql(t.graphqlUrl, 'mutation { logoutAll }', undefined, bearer(u.accessToken));
    expect((await me(t.graphqlUrl, u.accessToken)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await me(t.graphqlUrl, second.accessToken)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await me(t.graphqlUrl, other.accessToken)).body.data.me.id).toBe(other.userId);
  });

  it('lists sessions with the current one marked, and revokeSession ends one at once', async () => {
    const u = await registerUser(t.graphqlUrl);
    const second = (await login(t.graphqlUrl, u.email, u.password)).body.data.login;
    const list = await gql(t.graphqlUrl, '{ mySessions { id current ip userAgent createdAt lastUsedAt } }', undefined, bearer(u.accessToken));
    const sessions = list.body.data.mySessions;
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    const otherId = sessions.find((s: { current: boolean }) => !s.current).id;
    const revoked = await gql(t.graphqlUrl, 'mutation R($id: ID!) { revokeSession(id: $id) }', { id: otherId }, bearer(u.accessToken));
    expect(revoked.body.data.revokeSession).toBe(true);
    expect((await me(t.graphqlUrl, second.accessToken)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await me(t.graphqlUrl, u.accessToken)).body.data.me.id).toBe(u.userId);
  });

  it("answers another user's session id, or a malformed one, with NOT_FOUND", async () => {
    const a = await registerUser(t.graphqlUrl);
    const b = await registerUser(t.graphqlUrl);
    const bSessions = (await gql(t.graphqlUrl, '{ mySessions { id } }', undefined, bearer(b.accessToken))).body.data.mySessions;
    const res = await gql(t.graphqlUrl, 'mutation R($id: ID!) { revokeSession(id: $id) }', { id: bSessions[0].id }, bearer(a.accessToken));
    expect(res.body.errors[0].extensions.code).toBe('NOT_FOUND');
    expect((await me(t.graphqlUrl, b.accessToken)).body.data.me.id).toBe(b.userId);
    const bad = await gql(t.graphqlUrl, 'mutation { revokeSession(id: "1 or 1=1") }', undefined, bearer(a.accessToken));
    expect(bad.body.errors[0].extensions.code).toBe('NOT_FOUND');
  });

  it('changePassword checks the current password, applies the policy, and ends every other session', async () => {
    const u = await registerUser(t.graphqlUrl);
    const second = (await login(t.graphqlUrl, u.email, u.password)).body.data.login;
    const change = (current: string, next: string) =>
      gql(
        t.graphqlUrl,
        'mutation C($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }',
        { c: current, n: next },
        bearer(u.accessToken),
      );
    expect((await change('wrong current password', 'a brand new long passphrase')).body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect((await change(u.password, 'Password123!')).body.errors[0].extensions.field).toBe('password');
    expect((await change(u.password, 'a brand new long passphrase')).body.data.changePassword).toBe(true);
    expect((await me(t.graphqlUrl, second.accessToken)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await me(t.graphqlUrl, u.accessToken)).body.data.me.id).toBe(u.userId);
    expect((await login(t.graphqlUrl, u.email, u.password)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await login(t.graphqlUrl, u.email, 'a brand new long passphrase')).body.errors).toBeUndefined();
  });

  it('needs authentication for logout, logoutAll, revokeSession, changePassword and mySessions', async () => {
    for (const q of [
      'mutation { logout }',
      'mutation { logoutAll }',
      'mutation { revokeSession(id: "x") }',
      'mutation { changePassword(currentPassword: "a", newPassword: "b") }',
      '{ mySessions { id } }',
    ]) {
      expect((await gql(t.graphqlUrl, q)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
  });
});

describe('the refresh cookie', () => {
  const t = useTestServer();

  it('is set HttpOnly, SameSite=Strict, Path=/graphql (no Secure outside prod), read by refreshSession(), cleared by logout', async () => {
    const u = await registerUser(t.graphqlUrl);
    const res = await login(t.graphqlUrl, u.email, u.password);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^parley_refresh=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/graphql');
    expect(cookie).not.toContain('Secure');
    const value = /^parley_refresh=([^;]+)/.exec(cookie)![1];
    expect(value).toBe(res.body.data.login.refreshToken);

    const viaCookie = await refresh(t.graphqlUrl, undefined, { cookie: `other=1; parley_refresh=${value}` });
    expect(viaCookie.body.errors).toBeUndefined();
    const rotated = /^parley_refresh=([^;]+)/.exec(viaCookie.headers.get('set-cookie')!)![1];
    expect(rotated).toBe(viaCookie.body.data.refreshSession.refreshToken);

    const out = await gql(t.graphqlUrl, 'mutation { logout }', undefined, bearer(viaCookie.body.data.refreshSession.accessToken));
    expect(out.headers.get('set-cookie')).toMatch(/^parley_refresh=; Path=\/graphql; Max-Age=0/);
  });
});

describe('the refresh cookie in prod', () => {
  it('is Secure', async () => {
    const t = await startTestServer({ env: { APP_ENV: 'prod', SECRET_KEY: randomBytes(48).toString('base64url'), CORS_ORIGINS: 'https://app.example.com' } });
    try {
      const u = await registerUser(t.graphqlUrl);
      const res = await login(t.graphqlUrl, u.email, u.password);
      expect(res.headers.get('set-cookie')).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
    } finally {
      await t.close();
    }
  });
});
