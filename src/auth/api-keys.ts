import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditService } from '../audit/audit.service';
import type { AuthInfo, Authentication, RequestMeta } from '../graphql/context';
import { BadUserInputError, NotFoundError } from '../graphql/errors';
import type { Role } from '../graphql/role';
import { ApiKey } from './api-key.entity';
import type { SessionRevocations } from './revocations';
import { hashToken } from './tokens';
import { User } from './user.entity';

/** Every secret starts so: `Authorization: Bearer pk_…` is told apart from a JWT by it. */
export const API_KEY_PREFIX = 'pk_';
/** Live keys one user may hold; a create past it is BAD_USER_INPUT. */
export const MAX_LIVE_KEYS = 20;
/** The longest lifetime a key may be given, and the one it gets when none is asked for. */
export const MAX_KEY_LIFETIME_DAYS = 365;
/** `lastUsedAt` is written at most once a minute per key (checked in SQL): not one write per request. */
/** Refused uses are tallied per client IP (or key) and window: one audit row each, not one per attempt. */
const REFUSAL_WINDOW_MS = 60_000;
/** Node timers overflow past 2^31-1 ms (about 24.8 days); a socket's expiry timer must stay under it. */
const MAX_TIMER_MS = 2_147_000_000;
const NAME_MAX = 64;
// Control characters other than tab and newline (C0, DEL, C1).
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's purpose
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/u;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INVALID = 'API key is invalid, revoked or expired';

/** Where a refused key came from, for the refusal's audit tally. */
export type KeyRequest = Partial<Pick<RequestMeta, 'ip' | 'requestId'>>;

interface KeyRow {
  id: string;
  user_id: string;
  role: Role;
  /** A Date or an ISO string, as the driver returns it. */
  expires_at: Date | string | null;
  expired: boolean;
  locked: boolean;
  /** `lastUsedAt` is older than a minute (or unset). */
  stale: boolean;
}

/** A key's name: NFC, trimmed, 1 to 64 characters, no control characters. */
function cleanName(raw: string): string {
  const name = raw.normalize('NFC').trim();
  if (name.length < 1 || [...name].length > NAME_MAX || CONTROL.test(name))
    throw new BadUserInputError(`Name must be 1 to ${NAME_MAX} characters of plain text`, { field: 'name' });
  return name;
}

/** When a new key expires: the asked time, in the future and at most MAX_KEY_LIFETIME_DAYS away; that limit when none is asked. */
function expiryOf(asked: Date | null | undefined, now: number): Date {
  const latest = now + MAX_KEY_LIFETIME_DAYS * 86_400_000;
  if (asked === null || asked === undefined) return new Date(latest);
  if (Number.isNaN(asked.getTime()) || asked.getTime() <= now || asked.getTime() > latest)
    throw new BadUserInputError(`expiresAt must be in the future and at most ${MAX_KEY_LIFETIME_DAYS} days away`, { field: 'expiresAt' });
  return asked;
}

/**
 * API keys: created (secret shown once, stored as SHA-256 only) and revoked from an interactive
 * session, and checked on every use. A key acts as its owner with the owner's current role; a
 * revoked key (deleted), an expired one or a locked owner's is refused, and every refusal is
 * audited through a per-IP tally. Revocation is announced like a session's, so sockets opened
 * with the key close (4403) here and on every instance.
 */
export class ApiKeyService {
  constructor(
    private readonly audit: AuditService,
    private readonly revocations: SessionRevocations,
  ) {}

  /** The caller's live keys, newest first. */
  list(em: EntityManager, auth: AuthInfo): Promise<ApiKey[]> {
    return em.find(
      ApiKey,
      { user: auth.userId, $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }] },
      { orderBy: { createdAt: 'desc', id: 'desc' } },
    );
  }

  /** Creates a key for the caller (at most MAX_LIVE_KEYS live; expired ones are removed first), audited; the secret is returned only here. */
  async create(
    em: EntityManager,
    auth: AuthInfo,
    rawName: string,
    asked: Date | null | undefined,
    meta: RequestMeta,
  ): Promise<{ apiKey: ApiKey; secret: string }> {
    const name = cleanName(rawName);
    const now = Date.now();
    const expiresAt = expiryOf(asked, now);
    const secret = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const apiKey = await em.transactional(async (tx) => {
      // One create at a time per user, so two at once cannot both pass the count.
      await tx.getConnection().execute('select id from "user" where id = ? for update', [auth.userId], 'all', tx.getTransactionContext());
      await tx.nativeDelete(ApiKey, { user: auth.userId, expiresAt: { $lte: new Date(now) } });
      if ((await tx.count(ApiKey, { user: auth.userId })) >= MAX_LIVE_KEYS)
        throw new BadUserInputError(`At most ${MAX_LIVE_KEYS} API keys may be live at once; revoke one first`, { field: 'name' });
      const key = tx.create(ApiKey, { user: tx.getReference(User, auth.userId), name, prefix: secret.slice(0, 12), hash: hashToken(secret), expiresAt });
      await tx.flush();
      await this.audit.record(tx, {
        action: 'auth.api_key.create',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'api_key',
        resourceId: key.id,
        metadata: { expiresAt: expiresAt.toISOString() },
      });
      return key;
    });
    return { apiKey, secret };
  }

  /** Revokes (deletes) one of the caller's keys, audited; NOT_FOUND for anyone else's. Refused at once here and, once announced, everywhere. */
  async revoke(em: EntityManager, auth: AuthInfo, id: string, meta: RequestMeta): Promise<void> {
    await em.transactional(async (tx) => {
      const deleted = UUID.test(id) ? await tx.nativeDelete(ApiKey, { id, user: auth.userId }) : 0;
      if (deleted === 0) throw new NotFoundError('API key');
      await this.audit.record(tx, {
        action: 'auth.api_key.revoke',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'api_key',
        resourceId: id,
      });
    });
    this.revocations.revoked([id]);
  }

  /** Checks a `pk_…` secret: a live key of an unlocked owner, acting with the owner's current role; otherwise the problem (audited, tallied). */
  async authenticate(em: EntityManager, secret: string, req: KeyRequest = {}): Promise<Authentication> {
    // The clock comparisons run in the database, against one clock for every instance.
    const rows =
      secret.length <= 128
        ? await em.getConnection().execute<KeyRow[]>(
            `select k.id, k.user_id, u.role, k.expires_at,
                    (k.expires_at is not null and k.expires_at <= now()) as expired,
                    (u.locked_until is not null and u.locked_until > now()) as locked,
                    (k.last_used_at is null or k.last_used_at < now() - interval '60 seconds') as stale
               from api_key k join "user" u on u.id = k.user_id where k.hash = ?`,
            [hashToken(secret)],
          )
        : [];
    const row = rows[0];
    const reason = !row ? 'unknown' : row.expired ? 'expired' : row.locked ? 'owner_locked' : null;
    if (reason) {
      this.refused({ reason, ip: req.ip, requestId: req.requestId, keyId: row?.id, userId: row?.user_id, role: row?.role });
      return { problem: INVALID, reason: 'TOKEN_INVALID' };
    }
    if (row.stale) void this.touch(em, row.id);
    const expiresAt = new Date(Math.min(row.expires_at === null ? Infinity : new Date(row.expires_at).getTime(), Date.now() + MAX_TIMER_MS));
    return { auth: { userId: row.user_id, role: row.role, sessionId: row.id, via: 'apiKey', expiresAt } };
  }

  /** True while the key still works for that owner and role (cached briefly; revocations are announced). */
  stillValid(em: EntityManager, auth: AuthInfo): Promise<boolean> {
    return this.revocations.isActive(em, auth.sessionId, auth, 'apiKey');
  }

  /** Audits a key refused for what it asked (an operation outside its scope, a session-only door), tallied per key and operation. */
  refusedScope(auth: AuthInfo, operation: string, req: KeyRequest): void {
    this.refused({ reason: 'scope', operation, ip: req.ip, requestId: req.requestId, keyId: auth.sessionId, userId: auth.userId, role: auth.role });
  }

  /** One `auth.api_key.refused` event per (IP or key, reason) and window, carrying the count: a bad-key loop writes one row a minute. */
  private refused(r: { reason: string; operation?: string; ip?: string; requestId?: string; keyId?: string; userId?: string; role?: Role }): void {
    const who = r.keyId ? `key:${r.keyId}` : `ip:${r.ip ?? 'unknown'}`;
    this.audit.tally(
      `api_key_refused:${who}:${r.reason}:${r.operation ?? ''}`,
      {
        action: 'auth.api_key.refused',
        outcome: AuditOutcome.DENIED,
        actorId: r.userId ?? null,
        actorRole: r.role ?? null,
        resourceType: 'api_key',
        resourceId: r.keyId ?? null,
        ip: r.ip,
        requestId: r.requestId,
        metadata: { reason: r.reason, ...(r.operation ? { operation: r.operation } : {}) },
      },
      REFUSAL_WINDOW_MS,
    );
  }

  /** Moves `lastUsedAt` forward (guarded in SQL, so concurrent requests write once a minute at most). */
  private async touch(em: EntityManager, id: string): Promise<void> {
    await em
      .getConnection()
      .execute(`update api_key set last_used_at = now() where id = ? and (last_used_at is null or last_used_at < now() - interval '60 seconds')`, [id])
      .catch(() => undefined);
  }
}
