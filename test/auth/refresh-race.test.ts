import jwt from 'jsonwebtoken';
import { me, refresh, registerUser } from '../helpers/auth';
import { sql, useTestServer, type TestServer } from '../helpers/server';

/**
 * Two tabs of one app refresh with the same refresh token at once (issue 11): within
 * REFRESH_REUSE_GRACE_SECONDS of its rotation a refresh token gets the same successor back, so
 * both stay signed in; after the window, reuse still revokes the whole session.
 */

const sessionOf = (token: string) => (jwt.decode(token) as { sid: string }).sid;

async function refreshAudits(t: TestServer, userId: string): Promise<{ metadata: Record<string, unknown> | null }[]> {
  return sql(t, `select metadata from audit_event where action = 'auth.refresh' and actor_id = ? order by seq`, [userId]);
}

describe('refresh races within the default grace window', () => {
  const t = useTestServer();

  it('defaults to a 10-second window', () => {
    expect(t.config.auth.refreshReuseGraceSeconds).toBe(10);
  });

  it('concurrent refreshes with one token all succeed with the same successor', async () => {
    const u = await registerUser(t.graphqlUrl);
    const results = await Promise.all([1, 2, 3].map(() => refresh(t.graphqlUrl, u.refreshToken)));
    for (const r of results) expect(r.body.errors).toBeUndefined();
    const pairs = results.map((r) => r.body.data.refreshSession);
    expect(new Set(pairs.map((p) => p.refreshToken)).size).toBe(1);
    expect(pairs[0].refreshToken).not.toBe(u.refreshToken);
    for (const p of pairs) {
      expect(sessionOf(p.accessToken)).toBe(sessionOf(u.accessToken));
      expect((await me(t.graphqlUrl, p.accessToken)).body.data.me.id).toBe(u.userId);
    }
    // Each tab's cookie holds the same successor too.
    for (const r of results) expect(r.headers.get('set-cookie')).toContain(`=${pairs[0].refreshToken};`);
    // One rotation, the others replays: audited as such, with no token in the record.
    const audits = await refreshAudits(t, u.userId);
    expect(audits.map((a) => a.metadata?.graceReplay === true).sort()).toEqual([false, true, true]);
    expect(JSON.stringify(audits)).not.toContain(pairs[0].refreshToken);
    // The successor is stored only as a hash, and it goes on working.
    expect(JSON.stringify(await sql(t, 'select * from refresh_token'))).not.toContain(pairs[0].refreshToken);
    const next = await refresh(t.graphqlUrl, pairs[0].refreshToken);
    expect(next.body.errors).toBeUndefined();
    expect(next.body.data.refreshSession.refreshToken).not.toBe(pairs[0].refreshToken);
  });

  it('a tab that refreshes a moment after the other gets the same pair, and both tabs carry on', async () => {
    const u = await registerUser(t.graphqlUrl);
    const tabA = (await refresh(t.graphqlUrl, u.refreshToken)).body.data.refreshSession;
    const tabB = (await refresh(t.graphqlUrl, u.refreshToken)).body.data.refreshSession;
    expect(tabB.refreshToken).toBe(tabA.refreshToken);
    expect((await me(t.graphqlUrl, tabA.accessToken)).body.data.me.id).toBe(u.userId);
    expect((await me(t.graphqlUrl, tabB.accessToken)).body.data.me.id).toBe(u.userId);
    expect((await refresh(t.graphqlUrl, tabB.refreshToken)).body.errors).toBeUndefined();
  });

  it('once the successor itself was rotated, the old token is only refused: no pair, no revocation', async () => {
    const u = await registerUser(t.graphqlUrl);
    const second = (await refresh(t.graphqlUrl, u.refreshToken)).body.data.refreshSession;
    const third = (await refresh(t.graphqlUrl, second.refreshToken)).body.data.refreshSession;
    const late = await refresh(t.graphqlUrl, u.refreshToken);
    expect(late.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_INVALID' });
    expect((await me(t.graphqlUrl, third.accessToken)).body.data.me.id).toBe(u.userId);
  });
});

describe('refresh reuse after a short grace window', () => {
  const t = useTestServer({ env: { REFRESH_REUSE_GRACE_SECONDS: '1' } });

  it('reuse after the window revokes the whole session: TOKEN_REUSED', async () => {
    const u = await registerUser(t.graphqlUrl);
    const next = (await refresh(t.graphqlUrl, u.refreshToken)).body.data.refreshSession;
    // The window passes: the rotation is dated two seconds back rather than waited for.
    await sql(t, `update refresh_token set used_at = used_at - interval '2 seconds' where used_at is not null and session_id = ?`, [sessionOf(u.accessToken)]);
    const reuse = await refresh(t.graphqlUrl, u.refreshToken);
    expect(reuse.body.errors[0].extensions.code).toBe('TOKEN_REUSED');
    expect((await me(t.graphqlUrl, next.accessToken)).body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'SESSION_REVOKED' });
    expect((await refresh(t.graphqlUrl, next.refreshToken)).body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'SESSION_REVOKED' });
    expect(await sql(t, `select 1 from audit_event where action = 'auth.token_reused' and actor_id = ?`, [u.userId])).toHaveLength(1);
  });
});
