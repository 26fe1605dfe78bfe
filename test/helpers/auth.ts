import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { AUDIENCE, ISSUER, deriveKey } from '../../src/auth/tokens';
import { gql } from './server';

// altcha-lib's CommonJS build (its types are ESM-only).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const altcha = require('altcha-lib/v1') as {
  solveChallenge(challenge: string, salt: string, algorithm?: string, max?: number): { promise: Promise<{ number: number } | null> };
};

/** A password the policy accepts. */
export const STRONG_PASSWORD = 'correct horse battery staple 42';

export const AUTH_FIELDS = 'accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt user { id email role displayName }';

export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomUUID().slice(0, 8)}@example.com`;
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Fetches an ALTCHA challenge and solves it as the browser widget would. */
export async function solveCaptcha(graphqlUrl: string): Promise<string> {
  const res = await gql(graphqlUrl, '{ captchaChallenge { provider challenge } }');
  const c = res.body.data.captchaChallenge.challenge;
  const solution = await altcha.solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
  if (!solution) throw new Error('captcha not solved');
  return Buffer.from(
    JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number: solution.number, salt: c.salt, signature: c.signature }),
  ).toString('base64');
}

export interface Registered {
  email: string;
  password: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
}

/** Registers a fresh account through the API. */
export async function registerUser(graphqlUrl: string, opts: { email?: string; password?: string; displayName?: string } = {}): Promise<Registered> {
  const email = opts.email ?? uniqueEmail();
  const password = opts.password ?? STRONG_PASSWORD;
  const res = await gql(graphqlUrl, `mutation R($input: RegisterInput!) { register(input: $input) { ${AUTH_FIELDS} } }`, {
    input: { email, password, displayName: opts.displayName, captcha: await solveCaptcha(graphqlUrl) },
  });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  const p = res.body.data.register;
  return { email, password, userId: p.user.id, accessToken: p.accessToken, refreshToken: p.refreshToken };
}

/** Logs in through the API; returns the raw response for error checks. */
export async function login(graphqlUrl: string, email: string, password: string, captcha?: string) {
  return gql(graphqlUrl, `mutation L($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`, {
    input: { email, password, captcha: captcha ?? (await solveCaptcha(graphqlUrl)) },
  });
}

export async function refresh(graphqlUrl: string, refreshToken?: string, headers: Record<string, string> = {}) {
  return gql(graphqlUrl, `mutation F($t: String) { refreshSession(refreshToken: $t) { ${AUTH_FIELDS} } }`, refreshToken ? { t: refreshToken } : {}, headers);
}

export async function me(graphqlUrl: string, accessToken: string) {
  return gql(graphqlUrl, '{ me { id email role } }', undefined, bearer(accessToken));
}

/**
 * The same access token as `accessToken` (user, role, session) but expired a minute ago, signed
 * with the server's own key: what a client holds when it forgot to refresh.
 */
export function expiredTwin(secretKey: string, accessToken: string): string {
  const claims = jwt.decode(accessToken) as { sub: string; role: string; sid: string; jti: string };
  const now = Math.floor(Date.now() / 1000);
  return jwt.sign({ role: claims.role, sid: claims.sid, iat: now - 120, exp: now - 60 }, deriveKey(secretKey, 'jwt'), {
    algorithm: 'HS256',
    subject: claims.sub,
    issuer: ISSUER,
    audience: AUDIENCE,
    jwtid: claims.jti,
  });
}
