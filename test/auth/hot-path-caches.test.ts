import jwt from 'jsonwebtoken';
import { AUDIENCE, ISSUER, deriveKey } from '../../src/auth/tokens';
import { bearer, login, registerUser, STRONG_PASSWORD, uniqueEmail } from '../helpers/auth';
import { gql, sql, useTestServer, type TestServer } from '../helpers/server';

// The query path caches verified access tokens (by hash, until expiry), sessions' live state
// (pushed invalidation), `me` reads its row with one prepared statement, and the document limits
// remember texts that passed. These tests pin that every control still applies on the very next
// request once the caches are warm.

const ADMIN = { email: uniqueEmail('cacheadmin'), password: STRONG_PASSWORD };
const ME = '{ me { id email role displayName createdAt lockedUntil } }';

/** `me` twice, so the token, the session state and the document verdict are all cached. */
async function warm(t: TestServer, token: string) {
  await gql(t.graphqlUrl, ME, undefined, bearer(token));
  const res = await gql(t.graphqlUrl, ME, undefined, bearer(token));
  expect(res.body.errors).toBeUndefined();
  return res.body.data.me;
}

async function adminToken(t: TestServer): Promise<string> {
  return (await login(t.graphqlUrl, ADMIN.email, ADMIN.password)).body.data.login.accessToken;
}

/** A token of the user's session signed with the server's key, expiring `seconds` from now. */
function shortLived(t: TestServer, token: string, seconds: number): { token: string; exp: number } {
  const c = jwt.decode(token) as { sub: string; role: string; sid: string; jti: string };
  const exp = Math.floor(Date.now() / 1000) + seconds;
  const signed = jwt.sign({ role: c.role, sid: c.sid, exp }, deriveKey(t.config.secretKey, 'jwt'), {
    algorithm: 'HS256',
    subject: c.sub,
    issuer: ISSUER,
    audience: AUDIENCE,
    jwtid: `${c.jti}-short`,
  });
  return { token: signed, exp };
}

describe('hot-path caches', () => {
  const t = useTestServer({ env: { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password } });

  it('me answers the caller row exactly as stored, with no password hash and no other user', async () => {
    const user = await registerUser(t.graphqlUrl, { displayName: 'Ada' });
    await registerUser(t.graphqlUrl, { displayName: 'Other' });
    const me = await warm(t, user.accessToken);
    const [row] = await sql(t, 'select email, role, display_name, to_json(created_at) #>> \'{}\' as created from "user" where id = ?', [user.userId]);
    expect(me).toEqual({
      id: user.userId,
      email: row.email,
      role: 'USER',
      displayName: 'Ada',
      createdAt: new Date(row.created).toISOString(),
      lockedUntil: null,
    });
  });

  it('every GraphQL answer says no-store: success, refusal and error alike', async () => {
    const user = await registerUser(t.graphqlUrl);
    const ok = await gql(t.graphqlUrl, ME, undefined, bearer(user.accessToken));
    const refused = await gql(t.graphqlUrl, ME, undefined, bearer('not-a-token'));
    const invalid = await gql(t.graphqlUrl, '{ me { noSuchField } }', undefined, bearer(user.accessToken));
    expect([ok.body.data.me.id, refused.body.errors[0].extensions.code, invalid.body.errors[0].extensions.code]).toEqual([
      user.userId,
      'UNAUTHENTICATED',
      'GRAPHQL_VALIDATION_FAILED',
    ]);
    expect([ok, refused, invalid].map((r) => r.headers.get('cache-control'))).toEqual(['no-store', 'no-store', 'no-store']);
  });

  it('a logout refuses the warm token on the very next request', async () => {
    const user = await registerUser(t.graphqlUrl);
    await warm(t, user.accessToken);
    const out = await gql(t.graphqlUrl, 'mutation { logout }', undefined, bearer(user.accessToken));
    expect(out.body.errors).toBeUndefined();
    const res = await gql(t.graphqlUrl, ME, undefined, bearer(user.accessToken));
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'SESSION_REVOKED' });
  });

  it('an admin lock refuses the warm token on the very next request', async () => {
    const user = await registerUser(t.graphqlUrl);
    await warm(t, user.accessToken);
    const lock = await gql(
      t.graphqlUrl,
      'mutation L($u: ID!) { lockUser(userId: $u, minutes: 5, reason: "cache test") { id } }',
      { u: user.userId },
      bearer(await adminToken(t)),
    );
    expect(lock.body.errors).toBeUndefined();
    const res = await gql(t.graphqlUrl, ME, undefined, bearer(user.accessToken));
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'SESSION_REVOKED' });
    expect(res.body.data).toBeNull();
  });

  it('a role change refuses the warm token on the very next request; a new login carries the new role', async () => {
    const user = await registerUser(t.graphqlUrl);
    await warm(t, user.accessToken);
    const admin = await adminToken(t);
    const set = await gql(t.graphqlUrl, 'mutation S($u: ID!) { setUserRole(userId: $u, role: AUDITOR) { role } }', { u: user.userId }, bearer(admin));
    expect(set.body.data.setUserRole.role).toBe('AUDITOR');
    const stale = await gql(t.graphqlUrl, ME, undefined, bearer(user.accessToken));
    expect(stale.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'SESSION_REVOKED' });
    const fresh = (await login(t.graphqlUrl, user.email, user.password)).body.data.login.accessToken;
    expect((await warm(t, fresh)).role).toBe('AUDITOR');
  });

  it('a cached token is refused as expired once its exp passes', async () => {
    const user = await registerUser(t.graphqlUrl);
    const { token, exp } = shortLived(t, user.accessToken, 2);
    expect((await warm(t, token)).id).toBe(user.userId);
    // Waits for the clock itself to pass the token's expiry (there is no event to await).
    while (Date.now() < exp * 1000 + 50) await new Promise((r) => setTimeout(r, exp * 1000 + 50 - Date.now()));
    const res = await gql(t.graphqlUrl, ME, undefined, bearer(token));
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' });
  });

  it('a forged twin of a cached token is refused: the cache is keyed by the whole token', async () => {
    const user = await registerUser(t.graphqlUrl);
    await warm(t, user.accessToken);
    const [head, body] = user.accessToken.split('.');
    const res = await gql(t.graphqlUrl, ME, undefined, bearer(`${head}.${body}.${'A'.repeat(43)}`));
    expect(res.body.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_INVALID' });
  });

  it('a document over the limits is refused every time, however often a passing one was seen', async () => {
    const user = await registerUser(t.graphqlUrl);
    await warm(t, user.accessToken);
    const deep = `{ me { id } ${Array.from({ length: 40 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    for (let i = 0; i < 2; i++) {
      const res = await gql(t.graphqlUrl, deep, undefined, bearer(user.accessToken));
      expect(res.status).toBe(400);
      expect(res.body.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxAliases: 15 });
    }
  });
});
