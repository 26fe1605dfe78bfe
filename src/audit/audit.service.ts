import type { EventSubscriber, TransactionEventArgs } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { RateLimitedError } from '../graphql/errors';
import type { Logger } from '../logging/logger';
import { INTERNAL_QUEUED_EVENTS, type PubSub } from '../pubsub/topics';
import type { Role } from '../graphql/role';
import { AuditEvent, AuditOutcome } from './audit-event.entity';
import { GENESIS_HASH, keyedHash, signHead, type ChainHead, type ChainKey } from './audit-chain';
import { verifyChain, type ChainReport } from './audit-verify';
import { DATA_READ, toAuditData } from './audit-data';

export { GENESIS_HASH } from './audit-chain';
export type { ChainReport } from './audit-verify';
export { toAuditData } from './audit-data';

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

/** Who acted (a verified caller, or a user row), for `AuditService.forRequest`. */
export type AuditActor = { userId: string; role: Role } | { id: string; role: Role };

/** Where the request came from, for `AuditService.forRequest`. */
export interface AuditRequest {
  ip?: string | null;
  requestId?: string | null;
}

/** How the trail is keyed and bounded (from config). */
export interface AuditOptions {
  /** Chain keys, the current one first (see `chainKeys`). */
  keys: ChainKey[];
  /** Events that may wait to be appended; past it `append` answers RATE_LIMITED. */
  queueMax: number;
  /** How often a changed head is written to the log as a signed `audit.head` line. */
  headLogSeconds: number;
}

/** Serialises appends across every process sharing the database. */
const AUDIT_LOCK_KEY = 7_283_115_002;
const ACTION = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){1,3}$/;
/** Distinct tally keys held at once; past it, refusals fold into one overflow tally. */
const MAX_TALLIES = 10_000;
const OVERFLOW = '*';

function assertAction(action: string): void {
  if (!ACTION.test(action)) throw new Error(`audit action "${action}" is not dotted lower case`);
}

/** The outermost transaction of a (possibly nested) MikroORM transaction context: commit hooks fire only there. */
function rootTransaction(trx: object): object {
  let cur = trx as Record<symbol, object>;
  for (;;) {
    // MikroORM marks a savepoint with a symbol pointing at its parent transaction.
    const parent = Object.getOwnPropertySymbols(cur).find((s) => s.description === 'parentTransaction');
    if (!parent) return cur;
    cur = cur[parent] as Record<symbol, object>;
  }
}

interface Tally {
  input: AuditInput;
  count: number;
  timer: NodeJS.Timeout;
}

/** The one way anything is written to the audit trail, and the check that it is intact. */
export class AuditService {
  /** Called for each event this process commits (metrics); never for other instances' events. */
  onWritten?: (e: AuditEvent) => void;
  private readonly queue: { input: AuditInput; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private draining = false;
  private fullLogged = false;
  private readonly pendingReads = new Set<Promise<void>>();
  private readonly tallies = new Map<string, Tally>();
  /** Events written in a transaction not yet committed, by root transaction: announced only on commit. */
  private readonly uncommitted = new WeakMap<object, AuditEvent[]>();
  /** The highest event this instance wrote or saw; the table must never end before it. */
  private head: ChainHead | null = null;
  /** A head later contradicted (the chain was cut back and rewritten): kept so verification keeps failing. */
  private contradicted: ChainHead | null = null;
  private loggedSeq = 0n;
  private headTimer?: NodeJS.Timeout;
  private stopListening?: () => Promise<void>;
  private readonly opts: AuditOptions;
  /** Benchmarks only: false measures a server that does not record reads. Never configuration. */
  readsRecordedForBenchmark = true;

  /** `em`: the root entity manager, forked for appends that stand alone; `pubsub`: the live tail. */
  constructor(
    private readonly logger: Logger,
    private readonly em: EntityManager,
    private readonly pubsub: PubSub | undefined,
    opts: AuditOptions,
  ) {
    this.opts = opts;
    const subscriber: EventSubscriber = {
      afterTransactionCommit: async (args: TransactionEventArgs) => {
        const transaction: unknown = args.transaction;
        const events = transaction ? this.uncommitted.get(transaction) : undefined;
        if (events) this.committed(events);
      },
    };
    em.getEventManager().registerSubscriber(subscriber);
  }

  /** Starts following other instances' events (to know the newest head) and the periodic `audit.head` log line. */
  async connect(): Promise<void> {
    // Subscribed before any await, as the other pub/sub listeners are (a Redis SUBSCRIBE queued before the connection is ready).
    if (this.pubsub) {
      const it = this.pubsub.subscribe('audit:events', undefined, { maxEvents: INTERNAL_QUEUED_EVENTS })[Symbol.asyncIterator]();
      let stopped = false;
      void (async () => {
        for (;;) {
          const r = await it.next().catch(() => ({ done: true as const, value: undefined }));
          if (r.done || stopped) return;
          this.noteHead(BigInt(r.value.seq), r.value.hash);
        }
      })();
      this.stopListening = async () => {
        stopped = true;
        await it.return?.();
      };
    }
    // What the table holds at start is the first head seen: deleting below it later is caught.
    const last = await this.em.fork().getConnection().execute<{ seq: string; hash: string }[]>('select seq, hash from audit_event order by seq desc limit 1');
    if (last.length) this.noteHead(BigInt(last[0].seq), last[0].hash);
    this.headTimer = setInterval(() => this.logHead(), this.opts.headLogSeconds * 1000);
    this.headTimer.unref();
  }

  /** Shutdown: writes every pending tally and read, then a last `audit.head` line. */
  async close(): Promise<void> {
    clearInterval(this.headTimer);
    await this.flush();
    await this.stopListening?.();
    this.logHead();
  }

  /** True while the append queue can take another event; a read is refused (RATE_LIMITED) rather than left unrecorded. */
  hasRoom(): boolean {
    return this.queue.length < this.opts.queueMax;
  }

  /**
   * Records the reads of one operation (`data.read`) without making the request wait: the caller
   * checked `hasRoom` before serving them, so this is queued even past the bound and never dropped.
   */
  recordRead(input: Omit<AuditInput, 'action' | 'outcome'>): void {
    if (!this.readsRecordedForBenchmark) return;
    const p = this.enqueue({ ...input, action: DATA_READ, outcome: AuditOutcome.SUCCESS }).catch(() => undefined);
    this.pendingReads.add(p);
    void p.finally(() => this.pendingReads.delete(p));
  }

  /** Waits until every queued read record is written. */
  async flushReads(): Promise<void> {
    while (this.pendingReads.size > 0) await Promise.all([...this.pendingReads]);
  }

  /** Writes every open tally now (shutdown, tests), then waits for queued reads. */
  async flush(): Promise<void> {
    await Promise.all([...this.tallies.keys()].map((k) => this.closeTally(k)));
    await this.flushReads();
  }

  /**
   * Counts a repeated event (a rate-limit refusal) under `key`: one event per key per window,
   * written when the window closes and carrying `metadata.count`, so a flood of refusals
   * writes one row instead of one per refused field. Returns true for the first of a window.
   */
  tally(key: string, input: AuditInput, windowMs: number): boolean {
    assertAction(input.action);
    const k = this.tallies.has(key) || this.tallies.size < MAX_TALLIES ? key : OVERFLOW;
    const open = this.tallies.get(k);
    if (open) {
      open.count += 1;
      return false;
    }
    const recorded = k === OVERFLOW ? { ...input, actorId: null, actorRole: null, resourceId: OVERFLOW, ip: null, requestId: null } : input;
    const timer = setTimeout(() => void this.closeTally(k), Math.max(1, windowMs));
    timer.unref();
    this.tallies.set(k, { input: recorded, count: 1, timer });
    return true;
  }

  private async closeTally(key: string): Promise<void> {
    const t = this.tallies.get(key);
    if (!t) return;
    this.tallies.delete(key);
    clearTimeout(t.timer);
    await this.enqueue({ ...t.input, metadata: { ...(t.input.metadata ?? {}), count: t.count } }).catch(() => undefined);
  }

  /** The actor and request part of a record (actorId, actorRole, ip, requestId), to spread into an AuditInput. */
  forRequest(actor: AuditActor, meta: AuditRequest): Pick<AuditInput, 'actorId' | 'actorRole' | 'ip' | 'requestId'> {
    return { actorId: 'userId' in actor ? actor.userId : actor.id, actorRole: actor.role, ip: meta.ip, requestId: meta.requestId };
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
   * Resolves once it is committed. Concurrent calls are group-committed. The queue is bounded:
   * past `queueMax` waiting events the call is refused with RATE_LIMITED, so the request fails
   * visibly rather than its record being lost or memory growing without end.
   */
  append(input: AuditInput): Promise<void> {
    assertAction(input.action);
    if (!this.hasRoom()) {
      // One line per episode, not per refused request: a flood must not move from the table to the log.
      if (!this.fullLogged) this.logger.warn('audit queue full: requests refused until it drains', { security: true, alert: true, queued: this.queue.length });
      this.fullLogged = true;
      return Promise.reject(new RateLimitedError(1, 'The server is busy; try again shortly'));
    }
    return this.enqueue(input);
  }

  private enqueue(input: AuditInput): Promise<void> {
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
        this.fullLogged = false;
        try {
          await this.appendAll(
            this.em.fork(),
            batch.map((b) => b.input),
          );
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
    const key = this.opts.keys[0];
    return em.transactional(async (tx) => {
      const conn = tx.getConnection();
      const ctx: unknown = tx.getTransactionContext();
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
          keyId: key.id,
          hash: '',
        });
        event.hash = keyedHash(event, key);
        prevHash = event.hash;
        return event;
      });
      await tx.flush();
      // Announced (live tail, metrics, known head) only once the outermost transaction commits:
      // a rolled-back event must not look like a deleted one.
      const root = rootTransaction(ctx as object);
      this.uncommitted.set(root, [...(this.uncommitted.get(root) ?? []), ...events]);
      return events;
    });
  }

  private committed(events: AuditEvent[]): void {
    for (const e of events) {
      this.pubsub?.publish('audit:events', toAuditData(e));
      this.onWritten?.(e);
      this.noteHead(BigInt(e.seq), e.hash);
    }
  }

  /** Remembers the newest event known; the same seq with another hash means the chain was cut back and rewritten. */
  private noteHead(seq: bigint, hash: string): void {
    if (this.head && seq <= this.head.seq) {
      if (seq === this.head.seq && hash !== this.head.hash && !this.contradicted) {
        this.contradicted = this.head;
        this.logger.error('audit chain rewritten: an event replaced a known head', {
          security: true,
          alert: true,
          event: 'audit.head_contradicted',
          seq: String(seq),
        });
      }
      return;
    }
    this.head = { seq, hash };
  }

  /** A signed checkpoint line an auditor can copy as `expectedHead`; written only when the head moved. */
  private logHead(): void {
    if (!this.head || this.head.seq === this.loggedSeq) return;
    const key = this.opts.keys[0];
    const line = { seq: String(this.head.seq), hash: this.head.hash, at: new Date().toISOString() };
    this.loggedSeq = this.head.seq;
    this.logger.info('audit.head', { event: 'audit.head', ...line, keyId: key.id, mac: signHead(key, line) });
  }

  /**
   * Recomputes the chain and checks that it reaches the newest event this instance knows of
   * (and `expectedHead`, an auditor's copy of an `audit.head` line): deleting the newest
   * events, or rewriting them with plain SHA-256, fails with a `reason`.
   */
  async verify(em: EntityManager, batchSize = 1000, expectedHead?: { seq: number; hash: string } | null): Promise<ChainReport> {
    // Heads are taken before the walk: anything committed since then is simply not required.
    const heads = [
      ...(this.head ? [{ head: this.head, name: 'newest event this server knows of' }] : []),
      ...(this.contradicted ? [{ head: this.contradicted, name: 'event this server saw earlier' }] : []),
      ...(expectedHead ? [{ head: { seq: BigInt(expectedHead.seq), hash: expectedHead.hash }, name: 'expected head' }] : []),
    ];
    const report = await verifyChain(em, this.opts.keys, heads, batchSize);
    if (!report.valid) this.logger.warn('audit chain broken', { security: true, alert: true, firstBrokenSeq: report.firstBrokenSeq, reason: report.reason });
    return report;
  }
}
