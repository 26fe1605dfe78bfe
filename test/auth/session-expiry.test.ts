import { sql, useTestServer } from '../helpers/server';
import { login, me, refresh, registerUser } from '../helpers/auth';

describe('session expiry and the reuse grace period', () => {
  const t = useTestServer({ env: { REFRESH_REUSE_GRACE_SECONDS: '30' } });
  const q = (query: string, params: unknown[] = []) => sql(t, query, params);
  const sessionOf = async (userId: string) => (await q('select id from session where user_id = ? order by created_at desc limit 1', [userId]))[0].id;

  it('within the grace period, a rotated token gets the same successor back without revoking the session', async () => {
    const u = await registerUser(t.graphqlUrl);
    const next = (await refresh(t.graphqlUrl, u.refreshToken)).body.data.refreshSession;
    const again = await refresh(t.graphqlUrl, u.refreshToken);
    expect(again.body.data.refreshSession.refreshToken).toBe(next.refreshToken); // issue 11: was refused (UNAUTHENTICATED)
    expect((await refresh(t.graphqlUrl, next.refreshToken)).body.errors).toBeUndefined();
  });

  it('after the grace period, reuse revokes the session', async () => {
    const u = await registerUser(t.graphqlUrl);
    await refresh(t.graphqlUrl, u.refreshToken);
    await q(`update refresh_token set used_at = now() - interval '31 seconds' where used_at is not null and session_id = ?`, [await sessionOf(u.userId)]);
    expect((await refresh(t.graphqlUrl, u.refreshToken)).body.errors[0].extensions.code).toBe('TOKEN_REUSED');
  });

  it('a session idle past REFRESH_TOKEN_TTL can no longer refresh', async () => {
    const u = await registerUser(t.graphqlUrl);
    await q(`update session set idle_expires_at = now() - interval '1 second' where id = ?`, [await sessionOf(u.userId)]);
    expect((await refresh(t.graphqlUrl, u.refreshToken)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('a session past SESSION_MAX_AGE refuses its access tokens too', async () => {
    const u = await registerUser(t.graphqlUrl);
    const fresh = (await login(t.graphqlUrl, u.email, u.password)).body.data.login;
    const sid = (await q('select id from session where user_id = ? order by created_at desc limit 1', [u.userId]))[0].id;
    await q(`update session set absolute_expires_at = now() - interval '1 second' where id = ?`, [sid]);
    expect((await me(t.graphqlUrl, fresh.accessToken)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await refresh(t.graphqlUrl, fresh.refreshToken)).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await me(t.graphqlUrl, u.accessToken)).body.data.me.id).toBe(u.userId); // the other session is untouched
  });
});
