import { createHash, createHmac, createSecretKey, hkdfSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Config } from '../config';
import { Role } from '../graphql/role';
import { BoundedCache } from '../bounded-cache';

export const ISSUER = 'parley';
export const AUDIENCE = 'parley-api';

/** What a verified access token says. */
export interface AccessClaims {
  sub: string;
  role: Role;
  sid: string;
  jti: string;
  exp: number;
}

/** A sub-key of SECRET_KEY for one purpose, so no two uses share key material. */
export function deriveKey(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'parley', purpose, 32));
}

/** SHA-256 hex of a refresh token: the only form in which it is stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** 256 random bits, URL-safe. */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Access tokens already verified with the current key, by SHA-256 of the token (the token itself
 * is never kept): a signature check per request is the largest fixed cost of an authenticated
 * query. An entry lives until its token expires (so an expired token is refused as before) and at
 * most 15 minutes; the session behind it is still checked on every request, so a revocation, a
 * lock or a role change (which revokes the sessions) applies at once despite this cache.
 */
const VERIFIED_MAX_ENTRIES = 10_000;
const VERIFIED_MAX_AGE_MS = 15 * 60_000;

/** How far an instance's clock may be off when comparing a token's `iat` with the rotation time. */
const ROTATION_SKEW_SECONDS = 60;

/**
 * Signs and verifies access tokens: HS256 only, fixed issuer and audience. The previous key is
 * accepted only for tokens it could really have signed: issued before SECRET_KEY_ROTATED_AT, and
 * only until one access-token lifetime after it; so a leaked old key soon stops working.
 */
export class TokenService {
  // KeyObjects, made once: given raw bytes, jsonwebtoken would first try (and fail) to parse
  // them as a public key on every call.
  private readonly key: KeyObject;
  private readonly previousKey?: KeyObject;
  private readonly successorKey: Buffer;
  private readonly verified = new BoundedCache<string, AccessClaims>(VERIFIED_MAX_ENTRIES, VERIFIED_MAX_AGE_MS);

  constructor(private readonly config: Config) {
    this.key = createSecretKey(deriveKey(config.secretKey, 'jwt'));
    this.successorKey = deriveKey(config.secretKey, 'refresh-successor');
    if (config.auth.secretKeyPrevious) this.previousKey = createSecretKey(deriveKey(config.auth.secretKeyPrevious, 'jwt'));
  }

  sign(claims: { sub: string; role: Role; sid: string }): { token: string; expiresAt: Date } {
    const ttl = this.config.auth.accessTokenTtlSeconds;
    const token = jwt.sign({ role: claims.role, sid: claims.sid }, this.key, {
      algorithm: 'HS256',
      subject: claims.sub,
      issuer: ISSUER,
      audience: AUDIENCE,
      expiresIn: ttl,
      jwtid: randomUUID(),
    });
    const { exp } = jwt.decode(token) as { exp: number };
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /**
   * The refresh token that replaces `refreshToken` on rotation: an HMAC of it under a key derived
   * from SECRET_KEY, so a replay within the grace period can be handed the same successor again
   * although only hashes are stored; unguessable without both the old token and the key.
   */
  successorOf(refreshToken: string): string {
    return createHmac('sha256', this.successorKey).update(refreshToken).digest('base64url');
  }

  /** The claims of a valid token, or undefined for anything expired, forged, of another algorithm or malformed. */
  verify(token: string): AccessClaims | undefined {
    const result = this.inspect(token);
    return typeof result === 'string' ? undefined : result;
  }

  /**
   * The claims of a valid token, or why it is refused: 'expired' only for a token one of our
   * keys really signed (so a forged token never learns more than 'invalid').
   */
  inspect(token: string): AccessClaims | 'expired' | 'invalid' {
    const digest = createHash('sha256').update(token).digest('base64');
    // Kept until its `exp` second (jsonwebtoken's own rule: expired from that second on).
    const known = this.verified.get(digest);
    if (known) return known;
    const current = this.check(token, this.key);
    if (current !== 'wrong key' && current !== 'expired' && current) {
      const claims: AccessClaims = { sub: current.sub, role: current.role, sid: current.sid, jti: current.jti, exp: current.exp };
      this.verified.set(digest, claims, claims.exp * 1000);
      return claims;
    }
    if (current !== 'wrong key' || !this.previousKey) return current === 'wrong key' || !current ? 'invalid' : current;
    const old = this.check(token, this.previousKey);
    if (old === 'wrong key' || !old) return 'invalid';
    if (old === 'expired') return 'expired';
    const rotatedAt = Math.floor(this.config.auth.secretKeyRotatedAt.getTime() / 1000);
    const ttl = this.config.auth.accessTokenTtlSeconds;
    const now = Date.now() / 1000;
    // Issued before the rotation, living no longer than a token may, and the window not yet over.
    if (old.iat > rotatedAt + ROTATION_SKEW_SECONDS || old.exp - old.iat > ttl || now > rotatedAt + ttl) return 'invalid';
    return old;
  }

  private check(token: string, key: KeyObject): (AccessClaims & { iat: number }) | 'wrong key' | 'expired' | undefined {
    let c: jwt.JwtPayload;
    try {
      c = jwt.verify(token, key, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE }) as jwt.JwtPayload;
    } catch (err) {
      // jsonwebtoken checks the signature and algorithm before the expiry: 'expired' means our key signed it.
      if (err instanceof jwt.TokenExpiredError) return 'expired';
      // Expiry is final whichever key signed it; only a bad signature is worth trying the other key.
      return err instanceof jwt.JsonWebTokenError && err.message === 'invalid signature' ? 'wrong key' : undefined;
    }
    if (typeof c.sub !== 'string' || typeof c.sid !== 'string' || typeof c.jti !== 'string' || typeof c.exp !== 'number' || typeof c.iat !== 'number')
      return undefined;
    if (!Object.values(Role).includes(c.role as Role)) return undefined;
    return { sub: c.sub, role: c.role as Role, sid: c.sid, jti: c.jti, exp: c.exp, iat: c.iat };
  }
}
