import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError } from '../graphql/errors';
import { pageSize } from '../graphql/pagination';
import { AuditEvent } from './audit-event.entity';
import type { AuditEventConnection, AuditEventView, AuditFilter } from './audit.types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An event as the API shows it. */
export function toAuditView(e: AuditEvent): AuditEventView {
  return {
    id: e.id, seq: Number(e.seq), at: e.at, actorId: e.actorId ?? null, actorRole: e.actorRole ?? null, action: e.action,
    resourceType: e.resourceType ?? null, resourceId: e.resourceId ?? null, outcome: e.outcome, ip: e.ip ?? null,
    requestId: e.requestId ?? null, metadata: e.metadata ?? null, hash: e.hash, prevHash: e.prevHash,
  };
}

/** Audit events matching every given filter field, newest first, paged by seq. */
export async function listAuditEvents(em: EntityManager, filter: AuditFilter | null | undefined, first?: number | null, after?: string | null): Promise<AuditEventConnection> {
  const size = pageSize(first);
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
  if (after) {
    if (!/^\d{1,18}$/.test(after)) throw new BadUserInputError('Invalid cursor', { field: 'after' });
    where.seq = { $lt: after };
  }
  const rows = await em.find(AuditEvent, where, { orderBy: { seq: 'desc' }, limit: size + 1 });
  const page = rows.slice(0, size);
  return {
    edges: page.map((e) => ({ node: toAuditView(e), cursor: String(e.seq) })),
    pageInfo: { hasNextPage: rows.length > size, endCursor: page.length ? String(page[page.length - 1].seq) : null },
  };
}
