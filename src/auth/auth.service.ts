import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditService } from '../audit/audit.service';
import type { AuthInfo, RequestMeta } from '../graphql/context';
import { AppError, BadUserInputError, NotFoundError, UnauthenticatedError } from '../graphql/errors';
import type { Logger } from '../logging/logger';
import type { CaptchaVerifier } from './captcha/captcha';
import { cleanDisplayName, normalizeEmail } from './identity';
import { LoginGuard, accountKey } from './login-guard';
import { assertPasswordPolicy, type PasswordHasher } from './passwords';
import { RefreshToken } from './refresh-token.entity';
import type { SessionRevocations } from './revocations';
import { Role } from '../graphql/role';
import { Session } from './session.entity';
import { hashToken, newRefreshToken, type TokenService } from './tokens';
import { User } from './user.entity';

export interface IssuedTokens {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: User;
  sessionId: string;
}

const INVALID_CREDENTIALS = 'Invalid email or password';
const INVALID_REFRESH = 'Refresh token is invalid or expired';

/** Revokes live sessions of `userId` (all, only `only`, or all but `except`), recording why; returns their ids. */
export async function revokeSessions(em: EntityManager, userId: string, reason: string, filter: { only?: string; except?: string } = {}): Promise<string[]> {
  const where: Record<string, unknown> = { user: userId, revokedAt: null };
  if (filter.only) where.id = filter.only;
  if (filter.except) where.id = { $ne: filter.except };
  const sessions = await em.find(Session, where);
  const now = new Date();
  for (const s of sessions) {
    s.revokedAt = now;
    s.revokedReason = reason;
  }
  await em.flush();
  return sessions.map((s) => s.id);
}

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
    readonly revocations: SessionRevocations,
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
      await this.audit.append({ action: 'auth.lockout', outcome: AuditOutcome.SUCCESS, actorId: null, resourceType: user ? 'user' : null, resourceId: user?.id ?? null, ip: meta.ip, requestId: meta.requestId, metadata: { minutes: lockSeconds / 60 } });
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
      await this.audit.append({ action, outcome: AuditOutcome.FAILURE, actorId: user.id, actorRole: user.role, resourceType: 'user', resourceId: user.id, ip: meta.ip, requestId: meta.requestId, metadata: { reason } });
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

  /** Creates a session and its first refresh token inside `tx`, and signs an access token. */
  private async openSession(tx: EntityManager, user: User, meta: RequestMeta): Promise<IssuedTokens> {
    const now = Date.now();
    const absolute = new Date(now + this.config.auth.sessionMaxAgeSeconds * 1000);
    const idle = new Date(Math.min(now + this.config.auth.refreshTokenTtlSeconds * 1000, absolute.getTime()));
    const session = tx.create(Session, {
      user, ip: meta.ip ?? null, userAgent: meta.userAgent?.slice(0, 512) ?? null,
      createdAt: new Date(now), lastUsedAt: new Date(now), idleExpiresAt: idle, absoluteExpiresAt: absolute,
    });
    const refreshToken = newRefreshToken();
    tx.create(RefreshToken, { hash: hashToken(refreshToken), session });
    const access = this.tokens.sign({ sub: user.id, role: user.role, sid: session.id });
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken, refreshTokenExpiresAt: idle, user, sessionId: session.id };
  }

  async register(em: EntityManager, input: { email: string; password: string; displayName?: string | null; captcha: string }, meta: RequestMeta): Promise<IssuedTokens> {
    if (!(await this.requireCaptcha(em, input.captcha, meta))) throw new AppError('CAPTCHA_INVALID', 'Captcha is missing, invalid, expired or already used');
    const email = normalizeEmail(input.email);
    const displayName = cleanDisplayName(input.displayName);
    assertPasswordPolicy(input.password, [email, email.split('@')[0], displayName ?? '']);
    if (await em.count(User, { email })) throw new BadUserInputError('An account with this email already exists', { field: 'email' });
    const passwordHash = await this.passwords.hash(input.password);
    try {
      return await em.transactional(async (tx) => {
        const user = tx.create(User, { email, passwordHash, displayName, role: Role.USER });
        const issued = await this.openSession(tx, user, meta);
        await tx.flush();
        await this.audit.record(tx, { action: 'auth.register', outcome: AuditOutcome.SUCCESS, actorId: user.id, actorRole: user.role, resourceType: 'user', resourceId: user.id, ip: meta.ip, requestId: meta.requestId });
        return issued;
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw new BadUserInputError('An account with this email already exists', { field: 'email' });
      throw err;
    }
  }

  async login(em: EntityManager, input: { email: string; password: string; captcha: string }, meta: RequestMeta): Promise<IssuedTokens> {
    const fail = async (reason: string, user: User | null, extra: Record<string, unknown> = {}) => {
      // No actor: whoever tried is not authenticated, and naming the target as actor would let anyone forge its history.
      await this.audit.append({ action: 'auth.login', outcome: AuditOutcome.FAILURE, actorId: null, actorRole: null, resourceType: user ? 'user' : null, resourceId: user?.id ?? null, ip: meta.ip, requestId: meta.requestId, metadata: { reason, ...extra } });
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
      const issued = await this.openSession(tx, user, meta);
      await tx.flush();
      await this.audit.record(tx, { action: 'auth.login', outcome: AuditOutcome.SUCCESS, actorId: user.id, actorRole: user.role, resourceType: 'session', resourceId: issued.sessionId, ip: meta.ip, requestId: meta.requestId });
      return issued;
    });
  }

  /**
   * Rotates a refresh token under a row lock: the token is marked used and a new one issued.
   * A token already used (outside the grace period) revokes its whole session: TOKEN_REUSED.
   */
  async refresh(em: EntityManager, token: string | undefined, meta: RequestMeta): Promise<IssuedTokens> {
    if (!token || token.length > 256) throw new UnauthenticatedError(INVALID_REFRESH);
    const outcome = await em.transactional(async (tx) => {
      const row = await tx.findOne(RefreshToken, { hash: hashToken(token) }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!row) return { kind: 'invalid' as const };
      const session = await tx.findOneOrFail(Session, { id: row.session.id }, { lockMode: LockMode.PESSIMISTIC_WRITE, populate: ['user'] });
      const now = new Date();
      if (session.revokedAt) return { kind: 'invalid' as const };
      if (session.idleExpiresAt <= now || session.absoluteExpiresAt <= now) {
        session.revokedAt = now;
        session.revokedReason = 'expired';
        return { kind: 'invalid' as const };
      }
      if (row.usedAt) {
        const graceMs = this.config.auth.refreshReuseGraceSeconds * 1000;
        if (graceMs > 0 && now.getTime() - row.usedAt.getTime() <= graceMs) return { kind: 'invalid' as const };
        session.revokedAt = now;
        session.revokedReason = 'refresh token reuse';
        await tx.flush();
        await this.audit.record(tx, { action: 'auth.token_reused', outcome: AuditOutcome.FAILURE, actorId: session.user.id, actorRole: session.user.role, resourceType: 'session', resourceId: session.id, ip: meta.ip, requestId: meta.requestId });
        return { kind: 'reused' as const, sessionId: session.id, userId: session.user.id };
      }
      row.usedAt = now;
      const next = newRefreshToken();
      tx.create(RefreshToken, { hash: hashToken(next), session });
      session.lastUsedAt = now;
      session.idleExpiresAt = new Date(Math.min(now.getTime() + this.config.auth.refreshTokenTtlSeconds * 1000, session.absoluteExpiresAt.getTime()));
      if (meta.ip) session.ip = meta.ip;
      await tx.flush();
      await this.audit.record(tx, { action: 'auth.refresh', outcome: AuditOutcome.SUCCESS, actorId: session.user.id, actorRole: session.user.role, resourceType: 'session', resourceId: session.id, ip: meta.ip, requestId: meta.requestId });
      const access = this.tokens.sign({ sub: session.user.id, role: session.user.role, sid: session.id });
      return { kind: 'ok' as const, issued: { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken: next, refreshTokenExpiresAt: session.idleExpiresAt, user: session.user, sessionId: session.id } };
    });
    if (outcome.kind === 'reused') {
      this.revocations.revoked([outcome.sessionId]);
      this.security('auth.token_reused', { userId: outcome.userId, sessionId: outcome.sessionId, ip: meta.ip, requestId: meta.requestId });
      throw new AppError('TOKEN_REUSED', 'This refresh token was already used; the session has been revoked');
    }
    if (outcome.kind === 'invalid') throw new UnauthenticatedError(INVALID_REFRESH);
    return outcome.issued;
  }

  async logout(em: EntityManager, auth: AuthInfo, meta: RequestMeta, all: boolean): Promise<void> {
    const ids = await em.transactional(async (tx) => {
      const revoked = await revokeSessions(tx, auth.userId, all ? 'logout all' : 'logout', all ? {} : { only: auth.sessionId });
      await this.audit.record(tx, { action: 'auth.logout', outcome: AuditOutcome.SUCCESS, actorId: auth.userId, actorRole: auth.role, resourceType: 'session', resourceId: auth.sessionId, ip: meta.ip, requestId: meta.requestId, metadata: { all, sessions: revoked.length } });
      return revoked;
    });
    this.revocations.revoked(ids);
  }

  async revokeSession(em: EntityManager, auth: AuthInfo, sessionId: string, meta: RequestMeta): Promise<void> {
    const ids = await em.transactional(async (tx) => {
      const owned = await tx.findOne(Session, { id: sessionId, user: auth.userId });
      if (!owned) throw new NotFoundError('Session');
      const revoked = await revokeSessions(tx, auth.userId, 'revoked by user', { only: sessionId });
      await this.audit.record(tx, { action: 'auth.session.revoke', outcome: AuditOutcome.SUCCESS, actorId: auth.userId, actorRole: auth.role, resourceType: 'session', resourceId: sessionId, ip: meta.ip, requestId: meta.requestId });
      return revoked;
    });
    this.revocations.revoked(ids);
  }

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
    const ids = await em.transactional(async (tx) => {
      const revoked = await revokeSessions(tx, user.id, 'password changed', { except: auth.sessionId });
      await this.audit.record(tx, { action: 'auth.password.change', outcome: AuditOutcome.SUCCESS, actorId: user.id, actorRole: user.role, resourceType: 'user', resourceId: user.id, ip: meta.ip, requestId: meta.requestId, metadata: { sessionsRevoked: revoked.length } });
      return revoked;
    });
    this.revocations.revoked(ids);
  }

  /** The caller's live sessions, newest first. */
  async sessions(em: EntityManager, auth: AuthInfo): Promise<Session[]> {
    const now = new Date();
    return em.find(Session, { user: auth.userId, revokedAt: null, idleExpiresAt: { $gt: now }, absoluteExpiresAt: { $gt: now } }, { orderBy: { createdAt: 'desc' } });
  }

  /** Checks an `Authorization: Bearer …` value: signature, expiry, and a still-active session of the token's user with its current role. */
  async authenticate(em: EntityManager, header: string | undefined): Promise<{ auth?: AuthInfo; problem?: string }> {
    if (!header) return {};
    const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (!m) return { problem: 'Authorization header must be "Bearer <access token>"' };
    const claims = this.tokens.verify(m[1]);
    if (!claims) return { problem: 'Access token is invalid or expired' };
    if (!(await this.revocations.isActive(em, claims.sid, { userId: claims.sub, role: claims.role }))) return { problem: 'Session has been revoked' };
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
