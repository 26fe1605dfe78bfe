import type { Config } from '../config';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditService } from '../audit/audit.service';
import type { SecuritySummary } from '../audit/audit.types';
import type { AuthInfo, RequestMeta } from '../graphql/context';
import type { SessionStore } from '../auth/sessions';
import { Role } from '../graphql/role';
import { User } from '../auth/user.entity';
import { usageSummary } from '../chat/usage';
import type { UsageSummary } from '../chat/usage.types';
import { BadUserInputError, ForbiddenError, NotFoundError } from '../graphql/errors';
import { beyondTimeId, keysetPage, timeIdCursor, withKeyset } from '../graphql/pagination';
import type { UserConnection, UserFilter } from './admin.types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_LOCK_MINUTES = 525_600; // a year

/** User management and security reporting for admins and auditors; every change audited. */
export class AdminService {
  constructor(
    private readonly audit: AuditService,
    private readonly sessions: SessionStore,
  ) {}

  private async target(em: EntityManager, userId: string): Promise<User> {
    const user = UUID.test(userId) ? await em.findOne(User, { id: userId }) : null;
    if (!user) throw new NotFoundError('User');
    return user;
  }

  async listUsers(em: EntityManager, filter: UserFilter | null | undefined, first?: number | null, after?: string | null): Promise<UserConnection> {
    const where: Record<string, unknown> = {};
    if (filter?.emailContains) where.email = { $ilike: `%${filter.emailContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%` };
    if (filter?.role) where.role = filter.role;
    if (filter?.locked === true) where.lockedUntil = { $gt: new Date() };
    if (filter?.locked === false) where.$or = [{ lockedUntil: null }, { lockedUntil: { $lte: new Date() } }];
    return keysetPage({
      first,
      after,
      order: 'desc',
      cursor: timeIdCursor,
      keyOf: (u: User) => u,
      toNode: (u) => u,
      beyond: (key, direction) => beyondTimeId(key, direction),
      fetch: (keyset, limit, direction) => em.find(User, withKeyset(where, keyset), { orderBy: [{ createdAt: direction }, { id: direction }], limit }),
    });
  }

  /** Changes another user's role (never the last admin's) and revokes their sessions so it applies at once (audited). */
  async setUserRole(em: EntityManager, auth: AuthInfo, userId: string, role: Role, meta: RequestMeta): Promise<User> {
    if (userId === auth.userId) throw new ForbiddenError('You cannot change your own role');
    await this.sessions.transaction(em, async (tx, sessions) => {
      await tx.getConnection().execute('select pg_advisory_xact_lock(7283115003)', [], 'all', tx.getTransactionContext()); // one role change at a time
      const user = await this.target(tx, userId);
      if (user.role === Role.ADMIN && role !== Role.ADMIN && (await tx.count(User, { role: Role.ADMIN })) <= 1) {
        throw new BadUserInputError('The last admin cannot be demoted', { field: 'role' });
      }
      const from = user.role;
      user.role = role;
      // Access tokens carry the role: end the user's sessions so the new role applies at once.
      if (from !== role) await sessions.revoke(user.id, 'role changed');
      await tx.flush();
      await this.audit.record(tx, {
        action: 'admin.user.role',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'user',
        resourceId: user.id,
        metadata: { from, to: role },
      });
    });
    return this.target(em.fork(), userId);
  }

  /** Locks another user out for `minutes`, giving a reason, and revokes their sessions (audited). */
  async lockUser(em: EntityManager, auth: AuthInfo, userId: string, minutes: number, reason: string, meta: RequestMeta): Promise<User> {
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_LOCK_MINUTES)
      throw new BadUserInputError(`minutes must be 1 to ${MAX_LOCK_MINUTES}`, { field: 'minutes' });
    const why = reason.trim();
    if (why.length < 1 || why.length > 500) throw new BadUserInputError('reason must be 1 to 500 characters', { field: 'reason' });
    if (userId === auth.userId) throw new ForbiddenError('You cannot lock yourself');
    await this.sessions.transaction(em, async (tx, sessions) => {
      const user = await this.target(tx, userId);
      user.lockedUntil = new Date(Date.now() + minutes * 60_000);
      user.lockReason = why;
      const ids = await sessions.revoke(user.id, 'locked by an admin', {}, 'account_locked');
      await sessions.endApiKeys(user.id, 'account_locked'); // refused while locked (checked on use); open key sockets close now
      await this.audit.record(tx, {
        action: 'admin.user.lock',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'user',
        resourceId: user.id,
        metadata: { minutes, reason: why, sessionsRevoked: ids.length },
      });
    });
    return this.target(em.fork(), userId);
  }

  /** Lifts an admin lock on a user (audited). */
  async unlockUser(em: EntityManager, auth: AuthInfo, userId: string, meta: RequestMeta): Promise<User> {
    await em.transactional(async (tx) => {
      const user = await this.target(tx, userId);
      user.lockedUntil = null;
      user.lockReason = null;
      await tx.flush();
      await this.audit.record(tx, {
        action: 'admin.user.unlock',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'user',
        resourceId: user.id,
      });
    });
    return this.target(em.fork(), userId);
  }

  /** Revokes every session of a user (audited); their sockets close after commit. */
  async revokeUserSessions(em: EntityManager, auth: AuthInfo, userId: string, meta: RequestMeta): Promise<boolean> {
    await this.sessions.transaction(em, async (tx, sessions) => {
      const user = await this.target(tx, userId);
      const ids = await sessions.revoke(user.id, 'revoked by an admin');
      await this.audit.record(tx, {
        action: 'admin.user.sessions_revoked',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'user',
        resourceId: user.id,
        metadata: { sessionsRevoked: ids.length },
      });
    });
    return true;
  }

  /** Security activity since `since`, counted from the audit trail itself. */
  async securitySummary(em: EntityManager, since: Date): Promise<SecuritySummary> {
    const conn = em.getConnection();
    const [counts] = await conn.execute<{ failed: string; locked: string; limited: string; reused: string }[]>(
      `select count(*) filter (where action = 'auth.login' and outcome = 'FAILURE') as failed,
              count(*) filter (where action in ('auth.lockout', 'admin.user.lock')) as locked,
              coalesce(sum(coalesce((metadata->>'count')::int, 1)) filter (where action = 'security.rate_limited'), 0) as limited, -- one event per key and window carries a count
              count(*) filter (where action = 'auth.token_reused') as reused
       from audit_event where at >= ?`,
      [since],
    );
    const ips = await conn.execute<{ ip: string; n: string }[]>(
      `select ip, count(*) as n from audit_event where at >= ? and action = 'auth.login' and outcome = 'FAILURE' and ip is not null
       group by ip order by count(*) desc, ip limit 10`,
      [since],
    );
    return {
      failedLogins: Number(counts.failed),
      lockedAccounts: Number(counts.locked),
      rateLimited: Number(counts.limited),
      reusedRefreshTokens: Number(counts.reused),
      topFailingIps: ips.map((r) => ({ ip: r.ip, count: Number(r.n) })),
    };
  }

  /** Tokens a user's replies used (the ledger), messages they sent, and their quota, since `since`. */
  async usage(em: EntityManager, config: Config, userId: string, since: Date): Promise<UsageSummary> {
    return usageSummary(em, config, userId, since);
  }
}
