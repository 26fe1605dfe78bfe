import { EventEmitter } from 'node:events';
import type { EntityManager } from '@mikro-orm/postgresql';
import { INTERNAL_QUEUED_EVENTS, type PubSub } from '../pubsub/topics';
import type { Role } from '../graphql/role';
import type { RevocationKind } from '../graphql/context';

/** Who a live session belongs to, as the database says now. */
interface Owner {
  userId: string;
  role: Role;
}

/** How long a session seen active is trusted without asking the database again. */
const ACTIVE_TTL_MS = 5_000;

/** What a revocable credential is: a login's session, or an API key (announced and cached alike, by id). */
export type CredentialKind = 'session' | 'apiKey';

/** The owner of a live credential, as the database says now; no row when it is revoked, expired, or its owner locked (keys). */
const OWNER_OF: Record<CredentialKind, string> = {
  session:
    'select s.user_id, u.role from session s join "user" u on u.id = s.user_id where s.id = ? and s.revoked_at is null and s.absolute_expires_at > now()',
  apiKey:
    'select k.user_id, u.role from api_key k join "user" u on u.id = k.user_id where k.id = ? and (k.expires_at is null or k.expires_at > now()) and (u.locked_until is null or u.locked_until <= now())',
};
const MAX_ENTRIES = 50_000;
/**
 * How often sockets re-check their sessions against the database even when pub/sub is healthy:
 * the bound on how long a revocation whose notice was lost (a publish dropped while one
 * instance could not reach Redis) leaves a socket open elsewhere.
 */
const RESYNC_BACKSTOP_MS = 60_000;

/**
 * Whether a session (or an API key) may still be used, through a small cache: a session revoked by this process
 * is refused at once (the cache entry is replaced, and 'revoked' is emitted so open sockets
 * close), and so is one revoked by another instance, told through pub/sub ('session:revoked';
 * Redis when configured). Without that notice the database is asked again after ACTIVE_TTL_MS.
 * Open sockets are not asked per request, so 'resync' tells them to re-check their sessions:
 * every ACTIVE_TTL_MS while pub/sub cannot reach Redis (notices may be missed), twice once it
 * is back (the outage's notices are lost), and every RESYNC_BACKSTOP_MS in any case.
 */
export class SessionRevocations extends EventEmitter {
  private readonly cache = new Map<string, { active: boolean; until: number; owner?: Owner }>();
  private pubsub?: PubSub;
  private stopListening?: () => Promise<void>;

  /** Shares revocations with every instance through `pubsub`. */
  connect(pubsub: PubSub, instanceId: string): void {
    this.pubsub = pubsub;
    this.origin = instanceId;
    const it = pubsub.subscribe('session:revoked', undefined, { maxEvents: INTERNAL_QUEUED_EVENTS });
    let stopped = false;
    void (async () => {
      for (;;) {
        const r = await it.next().catch(() => ({ done: true as const, value: undefined }));
        if (r.done || stopped) return;
        if (r.value.origin === this.origin) continue;
        this.remember(r.value.sessionId, false);
        this.emit('revoked', r.value.sessionId, r.value.why ?? 'session_revoked');
      }
    })();
    const stopWatching = this.watchLink(pubsub);
    this.stopListening = async () => {
      stopped = true;
      stopWatching();
      await it.return?.();
    };
  }

  /** Starts the re-checks for open sockets (see the class comment); returns their stop. */
  private watchLink(pubsub: PubSub): () => void {
    let outage: NodeJS.Timeout | undefined;
    let after: NodeJS.Timeout | undefined;
    const backstop = setInterval(() => this.resync(), RESYNC_BACKSTOP_MS).unref();
    const stopLink = pubsub.onLink((up) => {
      clearInterval(outage);
      clearTimeout(after);
      outage = undefined;
      if (up) {
        this.resync();
        // Once more: a notice published just before this instance re-subscribed was lost too.
        after = setTimeout(() => this.resync(), ACTIVE_TTL_MS).unref();
      } else {
        outage = setInterval(() => this.resync(), ACTIVE_TTL_MS).unref();
      }
    });
    return () => {
      stopLink();
      clearInterval(backstop);
      clearInterval(outage);
      clearTimeout(after);
    };
  }

  /** Forgets which sessions were seen active (the next check asks the database) and tells open sockets to re-check. */
  private resync(): void {
    for (const [id, entry] of this.cache) if (entry.active) this.cache.delete(id);
    this.emit('resync');
  }

  private origin = '';

  async disconnect(): Promise<void> {
    await this.stopListening?.();
  }

  /**
   * True when the session is live and, given `claimed` (a token's `sub` and `role`), belongs to
   * that user whose role is still that one: a token naming another user's session, or a role the
   * user no longer has, is refused.
   */
  async isActive(em: EntityManager, sessionId: string, claimed?: Owner, kind: CredentialKind = 'session'): Promise<boolean> {
    let hit = this.cache.get(sessionId);
    // Refusals expire too: an API key refused while its owner was locked works again after an unlock.
    if (!hit || hit.until <= Date.now()) {
      const rows = await em.getConnection().execute<{ user_id: string; role: Role }[]>(OWNER_OF[kind], [sessionId]);
      this.remember(sessionId, rows.length === 1, rows[0] ? { userId: rows[0].user_id, role: rows[0].role } : undefined);
      hit = this.cache.get(sessionId)!;
    }
    if (!hit.active) return false;
    return !claimed || (hit.owner?.userId === claimed.userId && hit.owner.role === claimed.role);
  }

  /** Marks sessions revoked in this process and tells listeners (sockets) to cut them off, saying `why`. */
  revoked(sessionIds: string[], why: RevocationKind = 'session_revoked'): void {
    for (const id of sessionIds) {
      this.remember(id, false);
      this.emit('revoked', id, why);
      this.pubsub?.publish('session:revoked', { sessionId: id, origin: this.origin, why });
    }
  }

  private remember(id: string, active: boolean, owner?: Owner): void {
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, { active, until: Date.now() + ACTIVE_TTL_MS, owner });
  }
}
