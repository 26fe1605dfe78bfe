import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError } from '../graphql/errors';
import { beyondSeq, keysetPage, seqCursor } from '../graphql/pagination';
import type { AuditEventData, PubSub } from '../pubsub/topics';
import { AuditEvent } from './audit-event.entity';
import { toAuditData } from './audit-data';
import type { AuditEventConnection, AuditEventView, AuditFilter } from './audit.types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An event as the API shows it. */
export function toAuditView(e: AuditEvent): AuditEventView {
  // The published shape with the typed values GraphQL serialises itself.
  return { ...toAuditData(e), at: e.at, actorRole: e.actorRole ?? null, outcome: e.outcome };
}

/** Audit events matching every given filter field, newest first, paged by seq. */
export async function listAuditEvents(
  em: EntityManager,
  filter: AuditFilter | null | undefined,
  first?: number | null,
  after?: string | null,
): Promise<AuditEventConnection> {
  const where: Record<string, unknown> = {};
  const f = filter ?? {};
  if (f.actorId) {
    if (!UUID.test(f.actorId)) throw new BadUserInputError('actorId must be a user id', { field: 'actorId' });
    where.actorId = f.actorId;
  }
  if (f.action) where.action = f.action;
  if (f.resourceType) where.resourceType = f.resourceType;
  if (f.resourceId) where.resourceId = f.resourceId;
  if (f.outcome) where.outcome = f.outcome;
  if (f.ip) where.ip = f.ip;
  if (f.from || f.to) where.at = { ...(f.from ? { $gte: f.from } : {}), ...(f.to ? { $lt: f.to } : {}) };
  return keysetPage({
    first,
    after,
    cursor: seqCursor,
    keyOf: (e: AuditEvent) => String(e.seq),
    toNode: toAuditView,
    fetch: (beyond, limit) => em.find(AuditEvent, { ...where, ...(beyond && beyondSeq(beyond, 'desc')) }, { orderBy: { seq: 'desc' }, limit }),
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
