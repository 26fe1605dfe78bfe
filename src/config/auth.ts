import { randomBytes } from 'node:crypto';
import type { ConfigReader } from './readers';
import type { Config } from './types';

/** How far ahead of this host's clock SECRET_KEY_ROTATED_AT may be. */
const ROTATED_AT_MAX_AHEAD_MS = 3_600_000;

/** SECRET_KEY, or a random key for this process when it is unset (refused in prod by loadConfig). */
function readSecretKey(r: ConfigReader): Pick<Config, 'secretKey' | 'secretKeyGenerated'> {
  const key = r.str('SECRET_KEY');
  if (key !== undefined) return { secretKey: key, secretKeyGenerated: false };
  return { secretKey: randomBytes(32).toString('base64url'), secretKeyGenerated: true };
}

/** When SECRET_KEY took over from SECRET_KEY_PREVIOUS; unset: this process's start, the moment the new key took over here. */
function readRotatedAt(r: ConfigReader): Date {
  const at = r.dateTime('SECRET_KEY_ROTATED_AT');
  if (at === undefined) return new Date();
  if (at.getTime() > Date.now() + ROTATED_AT_MAX_AHEAD_MS) {
    r.problem('SECRET_KEY_ROTATED_AT must not be in the future (it would keep SECRET_KEY_PREVIOUS working until then)');
    return new Date();
  }
  return at;
}

/** The first admin, from BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD, which go together. */
function readBootstrapAdmin(r: ConfigReader): Config['auth']['bootstrapAdmin'] {
  const email = r.str('BOOTSTRAP_ADMIN_EMAIL');
  const password = r.untrimmed('BOOTSTRAP_ADMIN_PASSWORD'); // not trimmed: spaces may be part of it
  if ((email === undefined) !== (password === undefined)) r.problem('BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD must be set together');
  return email !== undefined && password !== undefined ? { email, password } : undefined;
}

/** Signing keys and their rotation, token and session lifetimes, password hashing and login lockout. */
export function readAuth(r: ConfigReader): Pick<Config, 'secretKey' | 'secretKeyGenerated' | 'auth'> {
  return {
    ...readSecretKey(r),
    auth: {
      secretKeyPrevious: r.str('SECRET_KEY_PREVIOUS'),
      secretKeyRotatedAt: readRotatedAt(r),
      accessTokenTtlSeconds: r.duration('ACCESS_TOKEN_TTL', 900, 1, 86_400),
      refreshTokenTtlSeconds: r.duration('REFRESH_TOKEN_TTL', 14 * 86_400, 60, 365 * 86_400),
      sessionMaxAgeSeconds: r.duration('SESSION_MAX_AGE', 30 * 86_400, 60, 365 * 86_400),
      refreshReuseGraceSeconds: r.int('REFRESH_REUSE_GRACE_SECONDS', 10, 0, 60),
      argon2: {
        // OWASP's floor for argon2id is the minimum: settings may only go up.
        memoryKiB: r.int('ARGON2_MEMORY_KIB', 19_456, 19_456, 4_194_304),
        timeCost: r.int('ARGON2_TIME_COST', 2, 2, 100),
        parallelism: r.int('ARGON2_PARALLELISM', 1, 1, 16),
      },
      loginMaxFailures: r.int('LOGIN_MAX_FAILURES', 5, 1, 1000),
      loginLockMinutes: r.int('LOGIN_LOCK_MINUTES', 15, 1, 10_080),
      argon2MaxConcurrent: r.int('ARGON2_MAX_CONCURRENT', 2, 1, 64),
      argon2MaxQueue: r.int('ARGON2_MAX_QUEUE', 64, 0, 100_000),
      bootstrapAdmin: readBootstrapAdmin(r),
    },
  };
}
