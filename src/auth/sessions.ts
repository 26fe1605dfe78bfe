import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditService } from '../audit/audit.service';
import type { RequestMeta, RevocationKind } from '../graphql/context';
import type { AuthReason } from '../graphql/errors';
import { RefreshToken } from './refresh-token.entity';
import type { SessionRevocations } from './revocations';
import type { Role } from '../graphql/role';
import { Session } from './session.entity';
import { hashToken, newRefreshToken, type TokenService } from './tokens';
import type { User } from './user.entity';

/** The tokens a login, registration or refresh hands out. */
export interface IssuedTokens {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: User;
  sessionId: string;
}

/** What a refresh token rotation found: new tokens, a token that is no good, or a reused one (its session is now revoked). */
export type Rotation = { kind: 'ok'; issued: IssuedTokens } | { kind: 'invalid'; reason: AuthReason } | { kind: 'reused'; sessionId: string; userId: string };

/** Which of a user's live sessions to revoke: all, only one, or all but one. */
export interface SessionFilter {
  only?: string;
  except?: string;
}

/** Ends sessions inside a `SessionStore.transaction`; the store announces them once the transaction commits. */
export interface SessionRevoker {
  /** Revokes live sessions of `userId` (per `filter`), recording why; returns their ids. `closeAs` is their sockets' close reason. */
  revoke(userId: string, reason: string, filter?: SessionFilter, closeAs?: RevocationKind): Promise<string[]>;
  /** Sessions that end with this transaction some other way (their user is deleted). */
  ending(sessionIds: string[]): void;
  /** The user's API keys stop working with this transaction (owner locked or deleted): their sockets close once it commits. */
  endApiKeys(userId: string, closeAs?: RevocationKind): Promise<void>;
}

/**
 * Sessions and their refresh tokens: opening one, rotating its refresh token, revoking (and
 * announcing the revocation to this process's sockets and to other instances, after commit),
 * and whether one is still active.
 */
export class SessionStore {
  constructor(
    private readonly config: Config,
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
    readonly revocations: SessionRevocations,
  ) {}

  /** Creates a session and its first refresh token inside `tx`, and signs an access token. */
  open(tx: EntityManager, user: User, meta: RequestMeta): IssuedTokens {
    const now = Date.now();
    const absolute = new Date(now + this.config.auth.sessionMaxAgeSeconds * 1000);
    const idle = new Date(Math.min(now + this.config.auth.refreshTokenTtlSeconds * 1000, absolute.getTime()));
    const session = tx.create(Session, {
      user,
      ip: meta.ip ?? null,
      userAgent: meta.userAgent?.slice(0, 512) ?? null,
      createdAt: new Date(now),
      lastUsedAt: new Date(now),
      idleExpiresAt: idle,
      absoluteExpiresAt: absolute,
    });
    const refreshToken = newRefreshToken();
    tx.create(RefreshToken, { hash: hashToken(refreshToken), session });
    const access = this.tokens.sign({ sub: user.id, role: user.role, sid: session.id });
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken, refreshTokenExpiresAt: idle, user, sessionId: session.id };
  }

  /**
   * Rotates a refresh token under row locks on it and its session: the token is marked used and
   * its successor issued (audited). Presented again within REFRESH_REUSE_GRACE_SECONDS, it gets
   * that same successor back (two tabs refreshing at once both stay signed in); later, reuse
   * revokes its whole session, audited and announced after commit.
   */
  async rotate(em: EntityManager, token: string, meta: RequestMeta): Promise<Rotation> {
    const outcome = await em.transactional(async (tx): Promise<Rotation> => {
      const row = await tx.findOne(RefreshToken, { hash: hashToken(token) }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!row) return { kind: 'invalid', reason: 'TOKEN_INVALID' };
      const session = await tx.findOneOrFail(Session, { id: row.session.id }, { lockMode: LockMode.PESSIMISTIC_WRITE, populate: ['user'] });
      const now = new Date();
      if (session.revokedAt) return { kind: 'invalid', reason: 'SESSION_REVOKED' };
      if (session.idleExpiresAt <= now || session.absoluteExpiresAt <= now) {
        session.revokedAt = now;
        session.revokedReason = 'expired';
        return { kind: 'invalid', reason: 'TOKEN_EXPIRED' };
      }
      if (row.usedAt) return this.refuseUsed(tx, token, row.usedAt, session, now, meta);
      row.usedAt = now;
      const next = this.tokens.successorOf(token);
      tx.create(RefreshToken, { hash: hashToken(next), session });
      session.lastUsedAt = now;
      session.idleExpiresAt = new Date(Math.min(now.getTime() + this.config.auth.refreshTokenTtlSeconds * 1000, session.absoluteExpiresAt.getTime()));
      if (meta.ip) session.ip = meta.ip;
      await tx.flush();
      return this.issue(tx, session, next, meta);
    });
    if (outcome.kind === 'reused') this.revocations.revoked([outcome.sessionId]);
    return outcome;
  }

  /** Hands out `refreshToken` with a new access token of the session (audited as `auth.refresh`). */
  private async issue(tx: EntityManager, session: Session, refreshToken: string, meta: RequestMeta, metadata?: Record<string, unknown>): Promise<Rotation> {
    await this.audit.record(tx, {
      action: 'auth.refresh',
      outcome: AuditOutcome.SUCCESS,
      ...this.audit.forRequest(session.user, meta),
      resourceType: 'session',
      resourceId: session.id,
      ...(metadata ? { metadata } : {}),
    });
    const access = this.tokens.sign({ sub: session.user.id, role: session.user.role, sid: session.id });
    return {
      kind: 'ok',
      issued: {
        accessToken: access.token,
        accessTokenExpiresAt: access.expiresAt,
        refreshToken,
        refreshTokenExpiresAt: session.idleExpiresAt,
        user: session.user,
        sessionId: session.id,
      },
    };
  }

  /**
   * A used refresh token. Within the grace period the successor it was rotated to is handed out
   * again while that one is still unused (it is derived from this token, never stored); a
   * successor already used means the race is over, so the token is only refused. Past the grace
   * period its session is revoked (audited).
   */
  private async refuseUsed(tx: EntityManager, token: string, usedAt: Date, session: Session, now: Date, meta: RequestMeta): Promise<Rotation> {
    const graceMs = this.config.auth.refreshReuseGraceSeconds * 1000;
    if (graceMs > 0 && now.getTime() - usedAt.getTime() <= graceMs) {
      const next = this.tokens.successorOf(token);
      const successor = await tx.findOne(RefreshToken, { hash: hashToken(next), session: session.id });
      if (!successor || successor.usedAt) return { kind: 'invalid', reason: 'TOKEN_INVALID' };
      return this.issue(tx, session, next, meta, { graceReplay: true });
    }
    session.revokedAt = now;
    session.revokedReason = 'refresh token reuse';
    await tx.flush();
    await this.audit.record(tx, {
      action: 'auth.token_reused',
      outcome: AuditOutcome.FAILURE,
      ...this.audit.forRequest(session.user, meta),
      resourceType: 'session',
      resourceId: session.id,
    });
    return { kind: 'reused', sessionId: session.id, userId: session.user.id };
  }

  /**
   * Runs `work` in a transaction; the sessions it revokes through its `SessionRevoker` are
   * refused at once and announced (sockets close, other instances are told) once it commits,
   * never when it rolls back.
   */
  async transaction<T>(em: EntityManager, work: (tx: EntityManager, sessions: SessionRevoker) => Promise<T>): Promise<T> {
    const ended: string[] = [];
    const locked: string[] = [];
    const result = await em.transactional((tx) =>
      work(tx, {
        revoke: async (userId, reason, filter, closeAs = 'session_revoked') => {
          const ids = await revokeSessions(tx, userId, reason, filter);
          (closeAs === 'account_locked' ? locked : ended).push(...ids);
          return ids;
        },
        ending: (sessionIds) => void ended.push(...sessionIds),
        endApiKeys: async (userId, closeAs = 'session_revoked') => {
          const keys = await tx
            .getConnection()
            .execute<{ id: string }[]>('select id from api_key where user_id = ?', [userId], 'all', tx.getTransactionContext());
          (closeAs === 'account_locked' ? locked : ended).push(...keys.map((k) => k.id));
        },
      }),
    );
    this.revocations.revoked(ended);
    this.revocations.revoked(locked, 'account_locked');
    return result;
  }

  /** The user's live sessions, newest first. */
  live(em: EntityManager, userId: string): Promise<Session[]> {
    const now = new Date();
    return em.find(
      Session,
      { user: userId, revokedAt: null, idleExpiresAt: { $gt: now }, absoluteExpiresAt: { $gt: now } },
      { orderBy: { createdAt: 'desc' } },
    );
  }

  /** Whether the session is live and, given `claimed`, belongs to that user with that role still (see SessionRevocations.isActive). */
  isActive(em: EntityManager, sessionId: string, claimed?: { userId: string; role: Role }): Promise<boolean> {
    return this.revocations.isActive(em, sessionId, claimed);
  }
}

/** Revokes live sessions of `userId` (all, only `only`, or all but `except`), recording why; returns their ids. */
async function revokeSessions(em: EntityManager, userId: string, reason: string, filter: SessionFilter = {}): Promise<string[]> {
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
