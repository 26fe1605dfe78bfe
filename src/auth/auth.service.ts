import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditService } from '../audit/audit.service';
import type { AuthInfo, Authentication, RequestMeta } from '../graphql/context';
import { AppError, BadUserInputError, NotFoundError, UnauthenticatedError } from '../graphql/errors';
import type { Logger } from '../logging/logger';
import type { CaptchaVerifier } from './captcha/captcha';
import { cleanDisplayName, normalizeEmail } from './identity';
import { LoginGuard, accountKey } from './login-guard';
import { assertPasswordPolicy, type PasswordHasher } from './passwords';
import { Role } from '../graphql/role';
import type { IssuedTokens, SessionStore } from './sessions';
import { Session } from './session.entity';
import type { TokenService } from './tokens';
import { User } from './user.entity';

export type { IssuedTokens } from './sessions';

const INVALID_CREDENTIALS = 'Invalid email or password';
const INVALID_REFRESH = 'Refresh token is invalid or expired';

/** Registration, login, refresh rotation with reuse detection, logout and revocation. */
export class AuthService {
  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly audit: AuditService,
    private readonly tokens: TokenService,
    private readonly passwords: PasswordHasher,
    private readonly captcha: CaptchaVerifier,
    readonly guard: LoginGuard,
    readonly sessionStore: SessionStore,
  ) {}

  /** A security event for the log (and its alerting), never carrying secrets. */
  private security(event: string, fields: Record<string, unknown>): void {
    this.logger.warn('security event', { security: true, alert: true, event, ...fields });
  }

  private async requireCaptcha(em: EntityManager, solution: string, meta: RequestMeta): Promise<boolean> {
    const ok = await this.captcha.verify(solution, meta.ip, em);
    if (!ok) {
      this.guard.noteFailure(meta.ip);
      this.security('captcha.invalid', { ip: meta.ip, requestId: meta.requestId });
    }
    return ok;
  }

  /**
   * False when failures across all IPs made the account need a harder proof of work than the
   * solution's challenge had; that IP's next challenges are then made hard enough.
   */
  private async hardEnoughCaptcha(em: EntityManager, key: string, solution: string, meta: RequestMeta): Promise<boolean> {
    if (!this.captcha.factorOf) return true; // token providers score the client themselves
    const needed = await this.guard.captchaFactor(em, key);
    if (needed <= 1 || this.captcha.factorOf(solution) >= needed) return true;
    this.captcha.demand?.(meta.ip, needed);
    return false;
  }

  /** A wrong password (login or re-check): counts toward the (account, IP) lock; audits and logs a lock it causes. */
  private async countFailure(em: EntityManager, key: string, user: User | null, meta: RequestMeta): Promise<number> {
    this.guard.noteFailure(meta.ip);
    const lockSeconds = await this.guard.recordFailure(em, key, meta.ip);
    if (lockSeconds > 0) {
      await this.audit.append({
        action: 'auth.lockout',
        outcome: AuditOutcome.SUCCESS,
        actorId: null,
        resourceType: user ? 'user' : null,
        resourceId: user?.id ?? null,
        ip: meta.ip,
        requestId: meta.requestId,
        metadata: { minutes: lockSeconds / 60 },
      });
      this.security('auth.lockout', { userId: user?.id, ip: meta.ip, minutes: lockSeconds / 60 });
    }
    return lockSeconds;
  }

  /**
   * The password re-check of `changePassword` and `deleteMyAccount`: refused while this IP is
   * locked out of the account, and a wrong password counts toward the same lock as a login and is
   * audited as `action` FAILURE. Runs in the low-priority argon2 lane, behind logins.
   */
  async recheckPassword(em: EntityManager, auth: AuthInfo, password: string, action: string, meta: RequestMeta): Promise<User> {
    const user = await em.findOneOrFail(User, { id: auth.userId });
    const key = accountKey(user.email);
    const denied = async (reason: string) => {
      await this.audit.append({
        action,
        outcome: AuditOutcome.FAILURE,
        ...this.audit.forRequest(user, meta),
        resourceType: 'user',
        resourceId: user.id,
        metadata: { reason },
      });
      this.security(`${action}.failure`, { reason, userId: user.id, ip: meta.ip, requestId: meta.requestId });
    };
    const locked = await this.guard.lockedFor(em, key, meta.ip);
    if (locked > 0) {
      await denied('locked');
      throw new AppError('ACCOUNT_LOCKED', 'Too many failed attempts from here; this account is locked for a while', { retryAfterSeconds: locked });
    }
    if (!(await this.passwords.verify(user.passwordHash, password, 'recheck'))) {
      await this.countFailure(em, key, user, meta);
      await denied('bad_password');
      throw new BadUserInputError('Password is incorrect', { field: 'password' });
    }
    return user;
  }

  /** Creates a USER account after the captcha and password policy, and opens its first session (audited). */
  async register(
    em: EntityManager,
    input: { email: string; password: string; displayName?: string | null; captcha: string },
    meta: RequestMeta,
  ): Promise<IssuedTokens> {
    if (!(await this.requireCaptcha(em, input.captcha, meta))) throw new AppError('CAPTCHA_INVALID', 'Captcha is missing, invalid, expired or already used');
    const email = normalizeEmail(input.email);
    const displayName = cleanDisplayName(input.displayName);
    assertPasswordPolicy(input.password, [email, email.split('@')[0], displayName ?? '']);
    if (await em.count(User, { email })) throw new BadUserInputError('An account with this email already exists', { field: 'email' });
    const passwordHash = await this.passwords.hash(input.password);
    try {
      return await em.transactional(async (tx) => {
        const user = tx.create(User, { email, passwordHash, displayName, role: Role.USER });
        const issued = this.sessionStore.open(tx, user, meta);
        await tx.flush();
        await this.audit.record(tx, {
          action: 'auth.register',
          outcome: AuditOutcome.SUCCESS,
          ...this.audit.forRequest(user, meta),
          resourceType: 'user',
          resourceId: user.id,
        });
        return issued;
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw new BadUserInputError('An account with this email already exists', { field: 'email' });
      throw err;
    }
  }

  /** Checks captcha, lockout and password, then opens a session (audited); every failure is audited and logged. */
  async login(em: EntityManager, input: { email: string; password: string; captcha: string }, meta: RequestMeta): Promise<IssuedTokens> {
    const fail = async (reason: string, user: User | null, extra: Record<string, unknown> = {}) => {
      // No actor: whoever tried is not authenticated, and naming the target as actor would let anyone forge its history.
      await this.audit.append({
        action: 'auth.login',
        outcome: AuditOutcome.FAILURE,
        actorId: null,
        actorRole: null,
        resourceType: user ? 'user' : null,
        resourceId: user?.id ?? null,
        ip: meta.ip,
        requestId: meta.requestId,
        metadata: { reason, ...extra },
      });
      this.security('auth.login.failure', { reason, userId: user?.id, ip: meta.ip, requestId: meta.requestId });
    };
    if (!(await this.requireCaptcha(em, input.captcha, meta))) {
      await fail('captcha', null);
      throw new AppError('CAPTCHA_INVALID', 'Captcha is missing, invalid, expired or already used');
    }
    let email: string;
    try {
      email = normalizeEmail(input.email);
    } catch {
      await this.passwords.verifyDummy(input.password);
      await fail('bad_credentials', null);
      throw new UnauthenticatedError(INVALID_CREDENTIALS);
    }
    const key = accountKey(email);
    const locked = await this.guard.lockedFor(em, key, meta.ip);
    if (locked > 0) {
      const user = await em.findOne(User, { email });
      await fail('locked', user);
      throw new AppError('ACCOUNT_LOCKED', 'Too many failed attempts from here; this account is locked for a while', { retryAfterSeconds: locked });
    }
    if (!(await this.hardEnoughCaptcha(em, key, input.captcha, meta))) {
      await fail('captcha_difficulty', null);
      throw new AppError('CAPTCHA_INVALID', 'This account needs a harder captcha after many failed attempts; solve a new challenge');
    }
    const user = await em.findOne(User, { email });
    const ok = user ? await this.passwords.verify(user.passwordHash, input.password) : await this.passwords.verifyDummy(input.password);
    if (!ok || !user) {
      await this.countFailure(em, key, user, meta);
      await fail('bad_credentials', user);
      throw new UnauthenticatedError(INVALID_CREDENTIALS);
    }
    if (user.lockedUntil && user.lockedUntil > new Date()) {
      await fail('admin_locked', user);
      throw new AppError('ACCOUNT_LOCKED', 'This account is locked', { retryAfterSeconds: Math.ceil((user.lockedUntil.getTime() - Date.now()) / 1000) });
    }
    await this.guard.reset(em, key, meta.ip);
    if (this.passwords.needsRehash(user.passwordHash)) user.passwordHash = await this.passwords.hash(input.password);
    return em.transactional(async (tx) => {
      const issued = this.sessionStore.open(tx, user, meta);
      await tx.flush();
      await this.audit.record(tx, {
        action: 'auth.login',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(user, meta),
        resourceType: 'session',
        resourceId: issued.sessionId,
      });
      return issued;
    });
  }

  /**
   * Rotates a refresh token (see SessionStore.rotate): new tokens, the same successor again for a
   * replay within the grace period, or, for reuse after it, TOKEN_REUSED with the session revoked.
   */
  async refresh(em: EntityManager, token: string | undefined, meta: RequestMeta): Promise<IssuedTokens> {
    if (!token || token.length > 256) throw new UnauthenticatedError(INVALID_REFRESH, 'TOKEN_INVALID');
    const outcome = await this.sessionStore.rotate(em, token, meta);
    if (outcome.kind === 'reused') {
      this.security('auth.token_reused', { userId: outcome.userId, sessionId: outcome.sessionId, ip: meta.ip, requestId: meta.requestId });
      throw new AppError('TOKEN_REUSED', 'This refresh token was already used; the session has been revoked');
    }
    if (outcome.kind === 'invalid') throw new UnauthenticatedError(INVALID_REFRESH, outcome.reason);
    return outcome.issued;
  }

  /** Revokes the caller's session, or all of their sessions with `all` (audited; sockets close after commit). */
  async logout(em: EntityManager, auth: AuthInfo, meta: RequestMeta, all: boolean): Promise<void> {
    await this.sessionStore.transaction(em, async (tx, sessions) => {
      const revoked = await sessions.revoke(auth.userId, all ? 'logout all' : 'logout', all ? {} : { only: auth.sessionId });
      await this.audit.record(tx, {
        action: 'auth.logout',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'session',
        resourceId: auth.sessionId,
        metadata: { all, sessions: revoked.length },
      });
    });
  }

  /** Revokes one of the caller's own sessions (NOT_FOUND for anyone else's), audited; its sockets close after commit. */
  async revokeSession(em: EntityManager, auth: AuthInfo, sessionId: string, meta: RequestMeta): Promise<void> {
    await this.sessionStore.transaction(em, async (tx, sessions) => {
      const owned = await tx.findOne(Session, { id: sessionId, user: auth.userId });
      if (!owned) throw new NotFoundError('Session');
      await sessions.revoke(auth.userId, 'revoked by user', { only: sessionId });
      await this.audit.record(tx, {
        action: 'auth.session.revoke',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'session',
        resourceId: sessionId,
      });
    });
  }

  /** Re-checks the current password, sets the new one and revokes every other session of the caller (audited). */
  async changePassword(em: EntityManager, auth: AuthInfo, current: string, next: string, meta: RequestMeta): Promise<void> {
    let user: User;
    try {
      user = await this.recheckPassword(em, auth, current, 'auth.password_change', meta);
    } catch (err) {
      if (err instanceof BadUserInputError) throw new BadUserInputError('Current password is incorrect', { field: 'currentPassword' });
      throw err;
    }
    assertPasswordPolicy(next, [user.email, user.email.split('@')[0], user.displayName ?? '']);
    user.passwordHash = await this.passwords.hash(next, 'recheck');
    await this.sessionStore.transaction(em, async (tx, sessions) => {
      const revoked = await sessions.revoke(user.id, 'password changed', { except: auth.sessionId });
      await this.audit.record(tx, {
        action: 'auth.password.change',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(user, meta),
        resourceType: 'user',
        resourceId: user.id,
        metadata: { sessionsRevoked: revoked.length },
      });
    });
  }

  /** The caller's live sessions, newest first. */
  async sessions(em: EntityManager, auth: AuthInfo): Promise<Session[]> {
    return this.sessionStore.live(em, auth.userId);
  }

  /** Checks an `Authorization: Bearer …` value: signature, expiry, and a still-active session of the token's user with its current role. */
  async authenticate(em: EntityManager, header: string | undefined): Promise<Authentication> {
    if (!header) return {};
    const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (!m) return { problem: 'Authorization header must be "Bearer <access token>"', reason: 'TOKEN_INVALID' };
    const claims = this.tokens.inspect(m[1]);
    if (claims === 'expired') return { problem: 'Access token has expired; refresh it', reason: 'TOKEN_EXPIRED' };
    if (claims === 'invalid') return { problem: 'Access token is invalid', reason: 'TOKEN_INVALID' };
    if (!(await this.sessionStore.isActive(em, claims.sid, { userId: claims.sub, role: claims.role })))
      return { problem: 'Session has been revoked', reason: 'SESSION_REVOKED' };
    return { auth: { userId: claims.sub, role: claims.role, sessionId: claims.sid, expiresAt: new Date(claims.exp * 1000) } };
  }

  /** Creates BOOTSTRAP_ADMIN_EMAIL as ADMIN when no user has that email; never changes an existing one. */
  async bootstrapAdmin(em: EntityManager): Promise<void> {
    const admin = this.config.auth.bootstrapAdmin;
    if (!admin) return;
    const email = normalizeEmail(admin.email);
    if (await em.count(User, { email })) return;
    assertPasswordPolicy(admin.password, [email, email.split('@')[0]]);
    const passwordHash = await this.passwords.hash(admin.password);
    await em.transactional(async (tx) => {
      const user = tx.create(User, { email, passwordHash, role: Role.ADMIN });
      await tx.flush();
      await this.audit.record(tx, { action: 'admin.user.bootstrap', outcome: AuditOutcome.SUCCESS, actorId: null, resourceType: 'user', resourceId: user.id });
    });
    this.logger.info('bootstrap admin created', { userId: (await em.findOneOrFail(User, { email })).id });
  }
}
