import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError } from '../graphql/errors';
import { beyondSeq, keysetPage, seqCursor, withKeyset, type Direction } from '../graphql/pagination';
import type { AuditEventData, PubSub } from '../pubsub/topics';
import { AuditEvent } from './audit-event.entity';
import { DATA_READ, toAuditData } from './audit-data';
import type { AuditEventConnection, AuditEventView, AuditFilter } from './audit.types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An event as the API shows it. */
export function toAuditView(e: AuditEvent): AuditEventView {
  // The published shape with the typed values GraphQL serialises itself.
  return { ...toAuditData(e), at: e.at, actorRole: e.actorRole ?? null, outcome: e.outcome };
}

/** The longest `actionPrefix` accepted (actions are short dotted names). */
const MAX_ACTION_PREFIX = 100;

/** `text` as a LIKE pattern matching it literally at the start (its `\`, `%` and `_` escaped). */
function prefixPattern(text: string): string {
  return `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The MikroORM `where` of an audit filter: every field given narrows it; a malformed one is BAD_USER_INPUT. */
export function auditWhere(filter: AuditFilter | null | undefined): Record<string, unknown> {
  const f = filter ?? {};
  const and: Record<string, unknown>[] = [];
  if (f.actorId) {
    if (!UUID.test(f.actorId)) throw new BadUserInputError('actorId must be a user id', { field: 'actorId' });
    and.push({ actorId: f.actorId });
  }
  if (f.action) and.push({ action: f.action });
  if (f.actionPrefix) {
    if (f.actionPrefix.length > MAX_ACTION_PREFIX)
      throw new BadUserInputError(`actionPrefix is at most ${MAX_ACTION_PREFIX} characters`, { field: 'actionPrefix' });
    and.push({ action: { $like: prefixPattern(f.actionPrefix) } });
  }
  if (f.excludeReads) and.push({ action: { $ne: DATA_READ } });
  if (f.resourceType) and.push({ resourceType: f.resourceType });
  if (f.resourceId) and.push({ resourceId: f.resourceId });
  if (f.outcome) and.push({ outcome: f.outcome });
  if (f.ip) and.push({ ip: f.ip });
  if (f.from || f.to) and.push({ at: { ...(f.from ? { $gte: f.from } : {}), ...(f.to ? { $lt: f.to } : {}) } });
  return and.length ? { $and: and } : {};
}

/** Audit events matching every given filter field, newest first (`desc`) or oldest first (`asc`), paged by seq. */
export async function listAuditEvents(
  em: EntityManager,
  filter: AuditFilter | null | undefined,
  first?: number | null,
  after?: string | null,
  order: Direction = 'desc',
): Promise<AuditEventConnection> {
  const where = auditWhere(filter);
  return keysetPage({
    first,
    after,
    order,
    cursor: seqCursor,
    keyOf: (e: AuditEvent) => String(e.seq),
    toNode: toAuditView,
    beyond: beyondSeq,
    fetch: (keyset, limit, direction) => em.find(AuditEvent, withKeyset(where, keyset), { orderBy: { seq: direction }, limit }),
  });
}

/** Events read from the table per query while replaying. */
const REPLAY_BATCH = 200;

/** Stored events with `after` < seq < `before` (no upper bound when undefined), oldest first, in batches. */
async function* storedAuditEvents(em: EntityManager, after: number, before?: number): AsyncGenerator<AuditEventData> {
  for (;;) {
    const seq = before === undefined ? { $gt: String(after) } : { $gt: String(after), $lt: String(before) };
    const rows = await em.fork().find(AuditEvent, { seq }, { orderBy: { seq: 'asc' }, limit: REPLAY_BATCH, disableIdentityMap: true });
    for (const row of rows) {
      after = Number(row.seq);
      yield toAuditData(row);
    }
    if (rows.length < REPLAY_BATCH) return;
  }
}

/**
 * `auditEventAdded(afterSeq)`: with `afterSeq`, the stored events after it, then the live tail,
 * with no gap (a live event past the next expected seq is preceded by the missing ones, read
 * from the table) and no duplicate (seqs already sent are skipped). Without it, the live tail.
 * The live queue is bounded: a reader that falls behind ends with SLOW_CONSUMER and
 * resubscribes with the last seq it has.
 */
export async function* auditEventTail(em: EntityManager, pubsub: PubSub, afterSeq: number | null): AsyncGenerator<AuditEventData> {
  if (afterSeq !== null && (!Number.isInteger(afterSeq) || afterSeq < 0))
    throw new BadUserInputError('afterSeq must be a whole number, 0 or more', { field: 'afterSeq' });
  // Subscribed before the table is read, so nothing written meanwhile falls between the two.
  const live = pubsub.subscribe('audit:events');
  try {
    let last = afterSeq;
    if (last !== null) {
      for await (const e of storedAuditEvents(em, last)) {
        yield e;
        last = e.seq;
      }
    }
    for await (const e of live) {
      if (last !== null && e.seq <= last) continue;
      if (last !== null && e.seq > last + 1) {
        // Written before we subscribed but published after the replay read the table.
        for await (const missed of storedAuditEvents(em, last, e.seq)) yield missed;
      }
      yield e;
      last = e.seq;
    }
  } finally {
    await live.return();
  }
}
