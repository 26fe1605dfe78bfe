import type { AuditEventData } from '../pubsub/topics';
import type { AuditEvent } from './audit-event.entity';

/** An event in its JSON-safe published form. */
export function toAuditData(e: AuditEvent): AuditEventData {
  return {
    id: e.id,
    seq: Number(e.seq),
    at: e.at.toISOString(),
    actorId: e.actorId ?? null,
    actorRole: e.actorRole ?? null,
    action: e.action,
    resourceType: e.resourceType ?? null,
    resourceId: e.resourceId ?? null,
    outcome: e.outcome,
    ip: e.ip ?? null,
    requestId: e.requestId ?? null,
    metadata: e.metadata ?? null,
    hash: e.hash,
    prevHash: e.prevHash,
  };
}

/** The action of the one aggregated event that records what an operation read. */
export const DATA_READ = 'data.read';
