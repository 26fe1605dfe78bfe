import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditOutcome } from './audit-event.entity';
import type { AuditService } from './audit.service';

/** Deletes events older than `retentionDays` and appends a checkpoint holding the last purged hash. */
export async function purgeAuditPrefix(audit: AuditService, em: EntityManager, retentionDays: number): Promise<number> {
  const rows = await em
    .getConnection()
    .execute<{ seq: string; hash: string }[]>(
      `select seq, hash from audit_event where at < now() - make_interval(days => ?) and action <> 'audit.checkpoint' order by seq desc limit 1`,
      [retentionDays],
    );
  if (rows.length === 0) return 0;
  const through = rows[0];
  // Everything up to and including `through` goes (a prefix: later events stay, even if old).
  const deleted = await em.transactional(async (tx) => {
    const res = await tx
      .getConnection()
      .execute<{ n: string }[]>(
        'with d as (delete from audit_event where seq <= ? returning 1) select count(*) as n from d',
        [through.seq],
        'all',
        tx.getTransactionContext(),
      );
    await audit.record(tx, {
      action: 'audit.checkpoint',
      outcome: AuditOutcome.SUCCESS,
      metadata: { purgedThroughSeq: through.seq, purgedThroughHash: through.hash, retentionDays },
    });
    return Number(res[0].n);
  });
  return deleted;
}
