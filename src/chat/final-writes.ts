import type { EntityManager } from '@mikro-orm/postgresql';
import { isDatabaseUnavailable } from '../db/unavailable';
import type { Logger } from '../logging/logger';
import { saveFinishedReplies, type FinishedRow } from './message-store';
import { settleReservations, type Settlement } from './token-ledger';

/** One reply's final writes: its ledger settlement and its final message row. */
export type FinalWrite = { settlement: Settlement; row: FinishedRow };

/** At most this many replies' final writes go in one transaction. */
const FINAL_BATCH_MAX = 200;
/** Finals arriving within this long of the first one join its batch (replies of one burst end within a few ms). */
const FINAL_BATCH_WAIT_MS = 2;

interface Pending {
  write: FinalWrite;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group-commits the final writes of replies that end together: one transaction holding one
 * multi-row ledger settlement, then one multi-row UPDATE of the message rows (the ledger first
 * and in the same transaction, so a reply never reads as finished with its tokens unsettled).
 * At 1,000 replies ending in one burst this is a handful of transactions instead of ~2,000
 * statements queueing for the pool ahead of every reply's `done`. When a batch fails, each of
 * its replies is written on its own, so one row the database refuses fails only that reply.
 * Bounded: batches of FINAL_BATCH_MAX, one in flight; callers wait for their own write, and
 * there are never more waiting than replies running (each waits for its write before retrying).
 */
export class FinalWrites {
  private queue: Pending[] = [];
  private timer?: NodeJS.Timeout;
  private draining = false;

  constructor(
    private readonly em: EntityManager,
    private readonly logger: Logger,
  ) {}

  /** Resolves once the reply's settlement and row are committed; rejects with the database's error. */
  write(write: FinalWrite): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (this.draining) return; // the running drain takes it next
      if (this.queue.length >= FINAL_BATCH_MAX) void this.drain();
      else this.timer ??= setTimeout(() => void this.drain(), FINAL_BATCH_WAIT_MS);
    });
  }

  private async drain(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) await this.commit(this.queue.splice(0, FINAL_BATCH_MAX));
    } finally {
      this.draining = false;
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    if (batch.length > 1) {
      try {
        await this.transaction(batch.map((p) => p.write));
        for (const p of batch) p.resolve();
        return;
      } catch (err) {
        // An unreachable database fails every single write too: the callers retry (generation.ts).
        if (isDatabaseUnavailable(err)) return batch.forEach((p) => p.reject(err));
        this.logger.warn('a batch of final writes failed; writing them one by one', { err, replies: batch.length });
      }
    }
    for (const p of batch) await this.single(p);
  }

  private async single(p: Pending): Promise<void> {
    try {
      await this.transaction([p.write]);
      p.resolve();
    } catch (err) {
      // A row the database refuses stays STREAMING (the sweeper ends it); its reservation is still handed back.
      if (!isDatabaseUnavailable(err)) await settleReservations(this.em.fork(), [p.write.settlement]).catch(() => undefined);
      p.reject(err);
    }
  }

  private transaction(writes: FinalWrite[]): Promise<void> {
    return this.em.fork().transactional(async (tx) => {
      await settleReservations(
        tx,
        writes.map((w) => w.settlement),
      );
      await saveFinishedReplies(
        tx,
        writes.map((w) => w.row),
      );
    });
  }
}
