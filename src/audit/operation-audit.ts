import type { Context } from '../graphql/context';
import { RateLimitedError } from '../graphql/errors';
import type { RefusalTally } from '../graphql/rate-limit';
import { AuditOutcome } from './audit-event.entity';
import type { AuditService } from './audit.service';

/** Resources one `data.read` event lists; the rest are counted in `total`. */
const MAX_READS_LISTED = 50;

/**
 * Notes that the caller read `resourceType` (`resourceId`); the operation's reads become one
 * `data.read` event when its result is sent (flushOperationReads). A read that could not be
 * recorded because the audit queue is full is refused (RATE_LIMITED), never served unrecorded.
 */
export function recordRead(ctx: Context, resourceType: string, resourceId: string | null = null): void {
  const key = `${resourceType}:${resourceId ?? ''}`;
  if (ctx.readsRecorded.has(key)) return;
  if (!ctx.services.audit.hasRoom()) throw new RateLimitedError(1, 'The server is busy; try again shortly');
  ctx.readsRecorded.set(key, { type: resourceType, id: resourceId });
}

/**
 * Writes the reads of the operation as ONE `data.read` event (aliases and nested fields
 * add ids, not rows), without delaying the answer. Called when a result is sent, on both transports.
 */
export function flushOperationReads(ctx: Context): void {
  if (ctx.readsRecorded.size === 0) return;
  const reads = [...ctx.readsRecorded.values()];
  ctx.readsRecorded.clear();
  const types = new Set(reads.map((r) => r.type));
  ctx.services.audit.recordRead({
    actorId: ctx.auth?.userId ?? null,
    actorRole: ctx.auth?.role ?? null,
    resourceType: types.size === 1 ? reads[0].type : null,
    resourceId: reads.length === 1 ? reads[0].id : null,
    ip: ctx.ip,
    requestId: ctx.requestId,
    metadata: { reads: reads.slice(0, MAX_READS_LISTED), total: reads.length },
  });
}

/** The rate limits' refusal tally: one `security.rate_limited` audit event per limiter key and window. */
export function auditRefusals(audit: AuditService): RefusalTally {
  return (who, limited, key, windowMs) =>
    audit.tally(
      key,
      {
        action: 'security.rate_limited',
        outcome: AuditOutcome.DENIED,
        actorId: who.userId ?? null,
        actorRole: who.role ?? null,
        resourceType: 'operation',
        resourceId: limited,
        ip: who.ip,
        requestId: who.requestId,
      },
      windowMs,
    );
}
