import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AUDIENCE, ISSUER, TokenService, deriveKey } from '../../src/auth/tokens';
import { loadConfig } from '../../src/config';
import { startTestServer, type TestServer } from '../helpers/server';
import { me, registerUser } from '../helpers/auth';

describe('access tokens', () => {
  let t: TestServer;
  let u: Awaited<ReturnType<typeof registerUser>>;
  let claims: { sub: string; role: string; sid: string };
  beforeAll(async () => {
    t = await startTestServer();
    u = await registerUser(t.graphqlUrl);
    const decoded = jwt.decode(u.accessToken) as Record<string, string>;
    claims = { sub: decoded.sub, role: decoded.role, sid: decoded.sid };
  });
  afterAll(async () => {
    await t?.close();
  });
  const key = () => deriveKey(t.config.secretKey, 'jwt');
  const code = async (token: string) => (await me(t.graphqlUrl, token)).body.errors?.[0]?.extensions?.code;

  it('are HS256 JWTs with sub, role, sid, jti, issuer, audience and a 15 minute life', () => {
    const header = JSON.parse(Buffer.from(u.accessToken.split('.')[0], 'base64url').toString());
    const payload = jwt.decode(u.accessToken) as Record<string, unknown>;
    expect(header.alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: u.userId, role: 'USER', iss: ISSUER, aud: AUDIENCE, sid: expect.any(String), jti: expect.any(String) });
    expect((payload.exp as number) - (payload.iat as number)).toBe(900);
  });

  it('refuses an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = jwt.sign({ role: claims.role, sid: claims.sid, iat: now - 1000, exp: now - 10 }, key(), {
      algorithm: 'HS256',
      issuer: ISSUER,
      audience: AUDIENCE,
      jwtid: 'j1',
      subject: claims.sub,
    });
    expect(await code(expired)).toBe('UNAUTHENTICATED');
  });

  it('refuses a token signed with another key', async () => {
    const forged = jwt.sign({ role: 'ADMIN', sid: claims.sid }, randomBytes(32), {
      algorithm: 'HS256',
      issuer: ISSUER,
      audience: AUDIENCE,
      expiresIn: 60,
      jwtid: 'j2',
      subject: claims.sub,
    });
    expect(await code(forged)).toBe('UNAUTHENTICATED');
  });

  it('refuses alg "none"', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({ sub: claims.sub, role: 'ADMIN', sid: claims.sid, jti: 'j3', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60 }),
    ).toString('base64url');
    expect(await code(`${header}.${payload}.`)).toBe('UNAUTHENTICATED');
  });

  it('refuses another HMAC algorithm with the right key, a wrong audience and a wrong issuer', async () => {
    const sign = (opts: jwt.SignOptions) =>
      jwt.sign({ role: claims.role, sid: claims.sid }, key(), {
        issuer: ISSUER,
        audience: AUDIENCE,
        expiresIn: 60,
        jwtid: 'j4',
        subject: claims.sub,
        algorithm: 'HS256',
        ...opts,
      });
    expect(await code(sign({ algorithm: 'HS512' }))).toBe('UNAUTHENTICATED');
    expect(await code(sign({ audience: 'someone-else' }))).toBe('UNAUTHENTICATED');
    expect(await code(sign({ issuer: 'someone-else' }))).toBe('UNAUTHENTICATED');
    // The same token with the right settings is accepted: the refusals above are about those settings.
    expect(await code(sign({}))).toBeUndefined();
  });

  it('refuses a token whose role is not a role', async () => {
    const odd = jwt.sign({ role: 'ROOT', sid: claims.sid }, key(), {
      algorithm: 'HS256',
      issuer: ISSUER,
      audience: AUDIENCE,
      expiresIn: 60,
      jwtid: 'j5',
      subject: claims.sub,
    });
    expect(await code(odd)).toBe('UNAUTHENTICATED');
  });

  it('still accepts tokens signed with SECRET_KEY_PREVIOUS after a rotation', () => {
    const oldSecret = randomBytes(32).toString('hex');
    const newSecret = randomBytes(32).toString('hex');
    const before = new TokenService(loadConfig({ APP_ENV: 'test', SECRET_KEY: oldSecret }));
    const after = new TokenService(loadConfig({ APP_ENV: 'test', SECRET_KEY: newSecret, SECRET_KEY_PREVIOUS: oldSecret }));
    const unrelated = new TokenService(loadConfig({ APP_ENV: 'test', SECRET_KEY: newSecret }));
    const { token } = before.sign({ sub: 'u1', role: 'USER' as never, sid: 's1' });
    expect(after.verify(token)?.sub).toBe('u1');
    expect(unrelated.verify(token)).toBeUndefined();
  });
});
