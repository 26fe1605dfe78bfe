import { EventEmitter } from 'node:events';
import type { EntityManager } from '@mikro-orm/postgresql';

/** How long a session seen active is trusted without asking the database again. */
const ACTIVE_TTL_MS = 5_000;
const MAX_ENTRIES = 50_000;

/**
 * Whether a session may still be used, through a small cache: a session revoked by this process
 * is refused at once (the cache entry is replaced, and 'revoked' is emitted so open sockets
 * close); one revoked elsewhere is seen within ACTIVE_TTL_MS.
 */
export class SessionRevocations extends EventEmitter {
  private readonly cache = new Map<string, { active: boolean; until: number }>();

  async isActive(em: EntityManager, sessionId: string): Promise<boolean> {
    const hit = this.cache.get(sessionId);
    if (hit && (!hit.active || hit.until > Date.now())) return hit.active;
    const rows = await em.getConnection().execute<{ id: string }[]>(
      'select id from session where id = ? and revoked_at is null and absolute_expires_at > now()',
      [sessionId],
    );
    const active = rows.length === 1;
    this.remember(sessionId, active);
    return active;
  }

  /** Marks sessions revoked in this process and tells listeners (sockets) to cut them off. */
  revoked(sessionIds: string[]): void {
    for (const id of sessionIds) {
      this.remember(id, false);
      this.emit('revoked', id);
    }
  }

  private remember(id: string, active: boolean): void {
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, { active, until: Date.now() + ACTIVE_TTL_MS });
  }
}
