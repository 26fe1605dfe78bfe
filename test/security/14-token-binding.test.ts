import { randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AUDIENCE, ISSUER, deriveKey } from '../../src/auth/tokens';
import { ConfigError, loadConfig } from '../../src/config';
import { me, registerUser } from '../helpers/auth';
import { useTestServer } from '../helpers/server';

const OLD_SECRET = randomBytes(32).toString('hex');
const ROTATED_AT = new Date(Date.now() - 5 * 60_000); // the new key took over five minutes ago
const TTL = 900;

/** An access token signed with `secret`'s JWT key, with whatever claims an attacker chooses. */
function forge(secret: string, claims: { sub: string; sid: string; role: string; iat?: number; exp?: number }): string {
  const iat = claims.iat ?? Math.floor(Date.now() / 1000);
  const payload = { sub: claims.sub, sid: claims.sid, role: claims.role, jti: randomUUID(), iat, exp: claims.exp ?? iat + TTL, iss: ISSUER, aud: AUDIENCE };
  return jwt.sign(payload, deriveKey(secret, 'jwt'), { algorithm: 'HS256' });
}

const sidOf = (token: string) => (jwt.decode(token) as { sid: string }).sid;
const code = (res: { body: { errors?: any[] } }) => res.body.errors?.[0]?.extensions?.code;

describe('attack 14: tokens not bound to their session', () => {
  const t = useTestServer({ env: { SECRET_KEY_PREVIOUS: OLD_SECRET, SECRET_KEY_ROTATED_AT: ROTATED_AT.toISOString(), ACCESS_TOKEN_TTL: String(TTL) } });

  it("refuses a token signed with the real key that names another user's session", async () => {
    const a = await registerUser(t.graphqlUrl);
    const b = await registerUser(t.graphqlUrl);
    // Control: a forged token that matches its session's owner is accepted (the forging is right).
    expect((await me(t.graphqlUrl, forge(t.config.secretKey, { sub: a.userId, sid: sidOf(a.accessToken), role: 'USER' }))).body.data.me.id).toBe(a.userId);
    const stolenSession = forge(t.config.secretKey, { sub: a.userId, sid: sidOf(b.accessToken), role: 'USER' });
    const res = await me(t.graphqlUrl, stolenSession);
    expect(code(res)).toBe('UNAUTHENTICATED');
    expect(res.body.data ?? null).toBeNull();
  });

  it("refuses a token whose role is not the user's current role", async () => {
    const a = await registerUser(t.graphqlUrl);
    const res = await me(t.graphqlUrl, forge(t.config.secretKey, { sub: a.userId, sid: sidOf(a.accessToken), role: 'ADMIN' }));
    expect(code(res)).toBe('UNAUTHENTICATED');
  });

  it('accepts the previous key only for tokens issued before the rotation, living one access-token lifetime', async () => {
    const a = await registerUser(t.graphqlUrl);
    const sid = sidOf(a.accessToken);
    const rotated = Math.floor(ROTATED_AT.getTime() / 1000);
    // Issued a minute before the rotation and still unexpired: a real old token, accepted.
    const before = forge(OLD_SECRET, { sub: a.userId, sid, role: 'USER', iat: rotated - 60 });
    expect((await me(t.graphqlUrl, before)).body.data.me.id).toBe(a.userId);
    // Signed with the old key after the rotation: someone still holds that key. Refused.
    expect(code(await me(t.graphqlUrl, forge(OLD_SECRET, { sub: a.userId, sid, role: 'USER' })))).toBe('UNAUTHENTICATED');
    // Back-dated but living far longer than any access token: refused.
    expect(code(await me(t.graphqlUrl, forge(OLD_SECRET, { sub: a.userId, sid, role: 'USER', iat: rotated - 60, exp: rotated + 86_400 })))).toBe(
      'UNAUTHENTICATED',
    );
    // The current key is unaffected by the rotation time.
    expect((await me(t.graphqlUrl, a.accessToken)).body.data.me.id).toBe(a.userId);
  });
});

describe('attack 14: an old key that never expires', () => {
  const prod = {
    APP_ENV: 'prod',
    SECRET_KEY: randomBytes(32).toString('hex'),
    CORS_ORIGINS: 'https://app.example.com',
    DATABASE_URL: 'postgres://p:pw@db.example.com/p',
    DATA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    SECRET_KEY_PREVIOUS: OLD_SECRET,
  };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      return err instanceof ConfigError ? err.problems : [String(err)];
    }
  };

  it('refuses to start in prod with SECRET_KEY_PREVIOUS but no SECRET_KEY_ROTATED_AT, or one in the future', () => {
    expect(problems(prod)).toEqual([expect.stringContaining('SECRET_KEY_ROTATED_AT is required')]);
    expect(problems({ ...prod, SECRET_KEY_ROTATED_AT: '2099-01-01T00:00:00Z' })).toEqual([expect.stringContaining('must not be in the future')]);
    expect(problems({ ...prod, SECRET_KEY_ROTATED_AT: 'yesterday' })).toEqual([expect.stringContaining('ISO 8601')]);
    expect(problems({ ...prod, SECRET_KEY_ROTATED_AT: ROTATED_AT.toISOString() })).toEqual([]);
  });
});
