import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../logging/logger';
import type { AuditEventData, PubSub } from '../pubsub/topics';
import type { Role } from '../auth/role';
import { AuditEvent, AuditOutcome } from './audit-event.entity';

/** What a feature tells the audit trail. Never an email, password, token or message text. */
export interface AuditInput {
  action: string;
  outcome: AuditOutcome;
  actorId?: string | null;
  actorRole?: Role | null;
  resourceType?: string | null;
  resourceId?: string | null;
  ip?: string | null;
  requestId?: string | null;
  metadata?: Record<string, unknown> | null;
}

/** The `prevHash` of the first event. */
export const GENESIS_HASH = '0'.repeat(64);
/** Serialises appends across every process sharing the database. */
const AUDIT_LOCK_KEY = 7_283_115_002;
const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){1,3}$/;

function assertAction(action: string): void {
  if (!ACTION.test(action)) throw new Error(`audit action "${action}" is not dotted lower case`);
}

/** JSON with object keys sorted at every level: one byte string per value, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The hash of one event: SHA-256 over the canonical form of every recorded field and `prevHash`. */
export function eventHash(e: Pick<AuditEvent, 'seq' | 'at' | 'actorId' | 'actorRole' | 'action' | 'resourceType' | 'resourceId' | 'outcome' | 'ip' | 'requestId' | 'metadata' | 'prevHash'>): string {
  const fields = [
    String(e.seq), e.at.toISOString(), e.actorId ?? null, e.actorRole ?? null, e.action, e.resourceType ?? null,
    e.resourceId ?? null, e.outcome, e.ip ?? null, e.requestId ?? null, e.metadata ?? null, e.prevHash,
  ];
  return createHash('sha256').update(canonicalJson(fields)).digest('hex');
}

/** An event in its JSON-safe published form. */
export function toAuditData(e: AuditEvent): AuditEventData {
  return {
    id: e.id, seq: Number(e.seq), at: e.at.toISOString(), actorId: e.actorId ?? null, actorRole: e.actorRole ?? null, action: e.action,
    resourceType: e.resourceType ?? null, resourceId: e.resourceId ?? null, outcome: e.outcome, ip: e.ip ?? null,
    requestId: e.requestId ?? null, metadata: e.metadata ?? null, hash: e.hash, prevHash: e.prevHash,
  };
}

export interface ChainReport {
  valid: boolean;
  checked: number;
  firstBrokenSeq: number | null;
}

/** The one way anything is written to the audit trail, and the check that it is intact. */
export class AuditService {
  /** Called for each event this process writes (metrics); never for other instances' events. */
  onWritten?: (e: AuditEvent) => void;
  private readonly queue: { input: AuditInput; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private draining = false;

  private readonly pendingReads = new Set<Promise<void>>();
  /** Benchmarks only: false measures a server that does not record reads. Never configuration. */
  readsRecordedForBenchmark = true;

  /** `em`: the root entity manager, forked for appends that stand alone; `pubsub`: the live tail. */
  constructor(private readonly logger: Logger, private readonly em: EntityManager, private readonly pubsub?: PubSub) {}

  /**
   * Records a read (`data.read`) without making the request wait: reads are queued and
   * group-committed in order with everything else, at once when idle and in batches under load.
   */
  recordRead(input: Omit<AuditInput, 'action' | 'outcome'>): void {
    if (!this.readsRecordedForBenchmark) return;
    const p = this.append({ ...input, action: 'data.read', outcome: AuditOutcome.SUCCESS }).catch(() => undefined);
    this.pendingReads.add(p);
    void p.finally(() => this.pendingReads.delete(p));
  }

  /** Waits until every queued read record is written (shutdown). */
  async flushReads(): Promise<void> {
    while (this.pendingReads.size > 0) await Promise.all([...this.pendingReads]);
  }

  /**
   * Appends an event to the chain inside `em`'s transaction (opening one if there is none), so
   * a change and its record commit or roll back together.
   */
  async record(em: EntityManager, input: AuditInput): Promise<AuditEvent> {
    const [event] = await this.appendAll(em, [input]);
    return event;
  }

  /**
   * Appends an event that records no change of its own (a failed login, a refused captcha).
   * Resolves once it is committed. Concurrent calls are group-committed: everything queued while
   * one batch is written goes into the next, in one transaction, so a flood of failures costs
   * one chain lock per batch rather than one per attempt.
   */
  append(input: AuditInput): Promise<void> {
    assertAction(input.action);
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, 500);
        try {
          await this.appendAll(this.em.fork(), batch.map((b) => b.input));
          for (const b of batch) b.resolve();
        } catch (err) {
          this.logger.error('audit append failed', { err, events: batch.length });
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Chains `inputs` after the last event and inserts them in `em`'s transaction. A
   * transaction-scoped advisory lock orders appends across connections and processes.
   */
  private async appendAll(em: EntityManager, inputs: AuditInput[]): Promise<AuditEvent[]> {
    inputs.forEach((i) => assertAction(i.action));
    return em.transactional(async (tx) => {
      const conn = tx.getConnection();
      const ctx = tx.getTransactionContext();
      await conn.execute('select pg_advisory_xact_lock(?)', [AUDIT_LOCK_KEY], 'all', ctx);
      const last = await conn.execute<{ seq: string; hash: string }[]>('select seq, hash from audit_event order by seq desc limit 1', [], 'all', ctx);
      let seq = last.length ? BigInt(last[0].seq) : 0n;
      let prevHash = last.length ? last[0].hash : GENESIS_HASH;
      const events = inputs.map((input) => {
        seq += 1n;
        const event = tx.create(AuditEvent, {
          seq: String(seq),
          at: new Date(),
          actorId: input.actorId ?? null,
          actorRole: input.actorRole ?? null,
          action: input.action,
          resourceType: input.resourceType ?? null,
          resourceId: input.resourceId ?? null,
          outcome: input.outcome,
          ip: input.ip ?? null,
          requestId: input.requestId ?? null,
          metadata: input.metadata ?? null,
          prevHash,
          hash: '',
        });
        event.hash = eventHash(event);
        prevHash = event.hash;
        return event;
      });
      await tx.flush();
      for (const e of events) {
        this.pubsub?.publish('audit:events', toAuditData(e));
        this.onWritten?.(e);
      }
      return events;
    });
  }

  /** Recomputes the chain in batches (constant memory), reporting the first event that does not fit. */
  async verify(em: EntityManager, batchSize = 1000): Promise<ChainReport> {
    let checked = 0;
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1n;
    let after = 0n;
    // After a retention purge the chain starts at the checkpoint: the purged prefix's last hash.
    const [{ min }] = await em.getConnection().execute<{ min: string | null }[]>('select min(seq) as min from audit_event');
    if (min !== null && BigInt(min) > 1n) {
      const first = BigInt(min);
      const checkpoints = await em.getConnection().execute<{ metadata: { purgedThroughSeq?: string; purgedThroughHash?: string } }[]>(
        `select metadata from audit_event where action = 'audit.checkpoint' and metadata->>'purgedThroughSeq' = ? order by seq limit 1`,
        [String(first - 1n)],
      );
      if (checkpoints.length === 0) return { valid: false, checked: 0, firstBrokenSeq: Number(first) };
      prevHash = checkpoints[0].metadata.purgedThroughHash ?? '';
      expectedSeq = first;
      after = first - 1n;
    }
    for (;;) {
      const rows = await em.find(AuditEvent, { seq: { $gt: String(after) } }, { orderBy: { seq: 'asc' }, limit: batchSize, disableIdentityMap: true });
      if (rows.length === 0) return { valid: true, checked, firstBrokenSeq: null };
      for (const row of rows) {
        const seq = BigInt(row.seq);
        if (seq !== expectedSeq || row.prevHash !== prevHash || eventHash(row) !== row.hash) {
          this.logger.warn('audit chain broken', { security: true, seq: String(seq), expectedSeq: String(expectedSeq) });
          return { valid: false, checked, firstBrokenSeq: Number(seq !== expectedSeq ? expectedSeq : seq) };
        }
        checked += 1;
        prevHash = row.hash;
        expectedSeq = seq + 1n;
        after = seq;
      }
    }
  }
}

/** Deletes events older than `retentionDays` and appends a checkpoint holding the last purged hash. */
export async function purgeAuditPrefix(audit: AuditService, em: EntityManager, retentionDays: number): Promise<number> {
  const rows = await em.getConnection().execute<{ seq: string; hash: string }[]>(
    `select seq, hash from audit_event where at < now() - make_interval(days => ?) and action <> 'audit.checkpoint' order by seq desc limit 1`,
    [retentionDays],
  );
  if (rows.length === 0) return 0;
  const through = rows[0];
  // Everything up to and including `through` goes (a prefix: later events stay, even if old).
  const deleted = await em.transactional(async (tx) => {
    const res = await tx.getConnection().execute<{ n: string }[]>(
      'with d as (delete from audit_event where seq <= ? returning 1) select count(*) as n from d', [through.seq], 'all', tx.getTransactionContext());
    await audit.record(tx, { action: 'audit.checkpoint', outcome: AuditOutcome.SUCCESS, metadata: { purgedThroughSeq: through.seq, purgedThroughHash: through.hash, retentionDays } });
    return Number(res[0].n);
  });
  return deleted;
}
