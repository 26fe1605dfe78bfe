import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { isDatabaseUnavailable } from '../db/unavailable';
import type { Logger } from '../logging/logger';
import { INTERNAL_QUEUED_EVENTS, type PubSub } from '../pubsub/topics';
import type { StreamEventData } from './stream-topic';
import { MessageStatus } from './message-enums';
import { interruptStaleReplies, readMessageStatus, savePartialReplies, settleOrphanedReply, touchHeartbeats, type PartialReply } from './message-store';
import { mergeDeltas } from './stream';
import {
  ProviderError,
  estimatePromptTokens,
  estimateTokens,
  type ChatTurn,
  type LlmProvider,
  type ProviderFinish,
  type TokenUsageData,
} from './providers/provider';
import { OUTCOME_OF_STOP, outcomeOf, type StopReason } from './reply-outcome';
import { ChatEventType, ChatEvents } from './chat-events';
import { FinalWrites } from './final-writes';

/** Persist partial content at most this often (all replies of the process in one statement), or once this many characters of one reply are unsaved. */
const PERSIST_EVERY_MS = 250;
const PERSIST_EVERY_CHARS = 4096;
/** U+0000, which PostgreSQL text refuses. */
// eslint-disable-next-line no-control-regex -- matching control characters is this pattern's purpose
const NUL = /\u0000/g;
/** How long `stop` waits for a reply to end before settling it itself (its process is gone). */
const STOP_WAIT_MS = 5000;
/** How often `stop` re-reads the message's status while it waits. */
const STOP_POLL_MS = 250;
/**
 * How long a finished reply's final writes (ledger, message) are retried while the database is
 * unreachable, so a reply that finished during a short outage is saved once it returns; past
 * this (or at shutdown) the reply stays STREAMING and the sweeper ends it INTERRUPTED.
 */
const FINAL_SAVE_RETRY_MS = 30_000;
const FINAL_SAVE_BACKOFF_MAX_MS = 1000;

export interface GenerationJob {
  messageId: string;
  userId: string;
  /** Its conversation, for the MESSAGE_FINISHED chat event. */
  conversationId: string;
  model: string;
  turns: ChatTurn[];
  /** The UTC day (YYYY-MM-DD) of the ledger row this reply reserved tokens in. */
  usageDay: string;
  /** Tokens reserved in the ledger at start; settled against the real usage at the end. */
  reservedTokens: number;
  /** Sent upstream as `max_tokens`: what the quota leaves after the prompt, capped by AI_MAX_OUTPUT_TOKENS and the caller's maxOutputTokens. */
  maxTokens: number;
  /** The caller's sampling settings (checked), sent upstream when set. */
  temperature?: number;
  topP?: number;
  /** With a daily quota: the reply stops (`quota exceeded`) once prompt and output pass this. */
  quotaBudget?: number;
}

interface Running {
  abort: AbortController;
  /** The reply's text so far (append-only), for a subscriber that joins between saves. */
  text: string;
  reason?: StopReason;
  done: Promise<void>;
}

/**
 * Runs assistant replies in the background: streams from the provider, publishes every delta
 * with its offset, persists content in batches (not per token), and writes the final status
 * and usage before announcing it. Each running generation carries this instance's id and a
 * heartbeat; a sweeper marks generations whose heartbeat went stale INTERRUPTED.
 */
export class GenerationRunner {
  private readonly running = new Map<string, Running>();
  /** Partial replies not yet saved, written together every PERSIST_EVERY_MS (one statement for all). */
  private readonly unsaved = new Map<string, PartialReply>();
  private flushTimer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private heartbeatTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  /** Set by stopAll: final writes stop retrying, so shutdown is not held up by a database outage. */
  private closing = false;
  private readonly unsubscribeCancel: () => Promise<void>;
  /** Final writes of replies ending together, committed in batches. */
  private readonly finals: FinalWrites;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly em: EntityManager,
    private readonly pubsub: PubSub,
    private readonly provider: LlmProvider,
    readonly instanceId: string,
    private readonly events: ChatEvents,
  ) {
    this.finals = new FinalWrites(em, logger);
    // A cancel may arrive from any instance; only the one running the generation acts on it.
    const cancels = this.pubsub.subscribe('generation:cancel', undefined, { maxEvents: INTERNAL_QUEUED_EVENTS });
    let stopped = false;
    void (async () => {
      for await (const { messageId, reason } of cancels) {
        if (stopped) break;
        this.stopLocal(messageId, reason);
      }
    })().catch((err: unknown) => this.logger.error('generation cancel listener stopped', { err }));
    this.unsubscribeCancel = async () => {
      stopped = true;
      await cancels.return?.();
    };
  }

  /** Starts the heartbeat and the stale-generation sweeper (and sweeps once now). */
  async startBackground(): Promise<void> {
    const staleMs = this.config.chat.staleGenerationSeconds * 1000;
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), Math.max(500, staleMs / 3));
    this.sweepTimer = setInterval(() => void this.sweep(), Math.max(500, staleMs / 2));
    this.heartbeatTimer.unref();
    this.sweepTimer.unref();
    await this.sweep();
  }

  /** Number of generations running in this process. */
  get size(): number {
    return this.running.size;
  }

  /** Starts generating a reply in the background on this instance. */
  start(job: GenerationJob): void {
    const abort = new AbortController();
    const entry: Running = { abort, text: '', done: Promise.resolve() };
    this.running.set(job.messageId, entry);
    entry.done = this.run(job, entry).finally(() => this.running.delete(job.messageId));
  }

  /** The text generated so far by a reply running in this process; undefined when it runs elsewhere or has ended. */
  textSoFar(messageId: string): string | undefined {
    return this.running.get(messageId)?.text;
  }

  /** Stops a generation running here; returns false when it is not running in this process. */
  stopLocal(messageId: string, reason: StopReason): boolean {
    const entry = this.running.get(messageId);
    if (!entry) return false;
    entry.reason ??= reason;
    entry.abort.abort(new Error(reason));
    return true;
  }

  /**
   * Stops a reply wherever it runs (here, or on another instance through `generation:cancel`)
   * and waits for its end: its final event, or the database saying it is no longer STREAMING.
   * When nothing ends it within STOP_WAIT_MS (the process running it is gone), it is settled
   * here as CANCELLED, keeping its text.
   */
  async stop(messageId: string, reason: 'cancel' | 'delete'): Promise<void> {
    const ended = this.waitForEnd(messageId);
    if (!this.stopLocal(messageId, reason)) this.pubsub.publish('generation:cancel', { messageId, reason });
    if (await ended) return;
    const settled = await settleOrphanedReply(this.em.fork(), messageId, OUTCOME_OF_STOP[reason]);
    if (settled) this.events.publish(settled.ownerId, ChatEventType.MESSAGE_FINISHED, { conversationId: settled.conversationId, messageId });
  }

  /** Resolves true once the message is final (its last event, or the database says so); false after STOP_WAIT_MS. */
  private waitForEnd(messageId: string): Promise<boolean> {
    const events = this.pubsub.subscribe('message:stream', messageId, { merge: mergeDeltas });
    return new Promise<boolean>((resolve) => {
      let settled = false;
      const finish = (ended: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        void events.return?.();
        resolve(ended);
      };
      const timer = setTimeout(() => finish(false), STOP_WAIT_MS);
      const poll = setInterval(() => {
        readMessageStatus(this.em.fork(), messageId).then(
          (status) => {
            if (status !== MessageStatus.STREAMING) finish(true);
          },
          () => undefined,
        );
      }, STOP_POLL_MS);
      void (async () => {
        for (;;) {
          const r = await events.next();
          if (r.done) return finish(false);
          if (r.value.done) return finish(true);
        }
      })().catch(() => finish(false));
    });
  }

  /** Stops every generation here as INTERRUPTED (the process is going away). */
  async stopAll(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.sweepTimer);
    clearTimeout(this.flushTimer);
    this.closing = true;
    await this.unsubscribeCancel();
    const all = [...this.running.entries()];
    for (const [id] of all) this.stopLocal(id, 'shutdown');
    await Promise.all(all.map(([, r]) => r.done));
  }

  private publish(event: StreamEventData): void {
    this.pubsub.publish('message:stream', event.messageId, event);
  }

  /**
   * Streams the provider's reply into `reply` (publishing and batching saves as it goes), under
   * the first-token and idle timeouts; returns the provider's finish reason, or throws its failure.
   */
  private async consume(job: GenerationJob, entry: Running, reply: { content: string; usage: TokenUsageData | null }): Promise<ProviderFinish | undefined> {
    const { messageId } = job;
    let persisted = 0;
    let finish: ProviderFinish | undefined;
    let timer = setTimeout(() => this.stopLocal(messageId, 'timeout'), this.config.ai.firstTokenTimeoutMs);
    let idle: NodeJS.Timeout | undefined;
    const promptEstimate = estimatePromptTokens(job.turns);
    const request = { model: job.model, turns: job.turns, maxTokens: job.maxTokens, temperature: job.temperature, topP: job.topP };
    try {
      for await (const chunk of this.provider.stream(request, entry.abort.signal)) {
        if (entry.abort.signal.aborted) break;
        if (chunk.type === 'usage' || chunk.type === 'finish') {
          if (chunk.type === 'usage') reply.usage = chunk.usage;
          else finish = chunk.reason;
          continue;
        }
        if (idle) {
          idle.refresh(); // one idle timer per reply, re-armed per chunk: no timer made per chunk
        } else {
          clearTimeout(timer);
          timer = idle = setTimeout(() => this.stopLocal(messageId, 'timeout'), this.config.ai.idleTimeoutMs);
        }
        // PostgreSQL text cannot hold U+0000: a model that emits it must not make the reply unsavable.
        const text = chunk.text.replace(NUL, '');
        if (text.length === 0) continue;
        const offset = reply.content.length;
        reply.content += text;
        entry.text = reply.content;
        this.publish({ messageId, offset, delta: text, done: false, status: MessageStatus.STREAMING });
        if (job.quotaBudget !== undefined && promptEstimate + estimateTokens(reply.content) > job.quotaBudget) {
          this.stopLocal(messageId, 'quota');
          break;
        }
        this.unsaved.set(messageId, { messageId, content: reply.content, ownerId: job.userId });
        if (reply.content.length - persisted >= PERSIST_EVERY_CHARS) {
          persisted = reply.content.length;
          void this.flushUnsaved();
        } else {
          this.flushTimer ??= setTimeout(() => void this.flushUnsaved(), PERSIST_EVERY_MS);
        }
      }
    } finally {
      clearTimeout(timer);
    }
    return finish;
  }

  private async run(job: GenerationJob, entry: Running): Promise<void> {
    const { messageId } = job;
    const reply: { content: string; usage: TokenUsageData | null } = { content: '', usage: null };
    let finish: ProviderFinish | undefined;
    let failure: unknown;
    try {
      finish = await this.consume(job, entry, reply);
    } catch (err) {
      failure = err;
      if (!entry.reason && !(err instanceof ProviderError)) this.logger.error('generation failed', { messageId, err });
    }
    const { content } = reply;
    this.unsaved.delete(messageId);
    await this.flushing; // a batch already under way must not land after the final write
    const final = entry.reason ? OUTCOME_OF_STOP[entry.reason] : outcomeOf(failure, finish);
    const usage = reply.usage
      ? { ...reply.usage, estimated: reply.usage.estimated ?? false }
      : { promptTokens: estimatePromptTokens(job.turns), completionTokens: estimateTokens(content), estimated: true };
    // Ledger and row in one transaction (ledger first): once a reply reads as finished, its tokens are settled.
    const settlement = { userId: job.userId, usageDay: job.usageDay, reservedTokens: job.reservedTokens, ...usage };
    const row = { messageId, ownerId: job.userId, content, usage, ...final };
    const saved = await this.retrying('saving a finished reply', messageId, () => this.finals.write({ settlement, row }));
    // Unsaved, it is still STREAMING in the database: the sweeper ends it INTERRUPTED and announces that.
    if (!saved) return;
    this.publish({ messageId, offset: content.length, delta: '', done: true, status: final.status, usage, error: final.error });
    this.events.publish(job.userId, ChatEventType.MESSAGE_FINISHED, { conversationId: job.conversationId, messageId });
    this.logger.info('generation finished', { messageId, status: final.status, errorCode: final.errorCode, chars: content.length, userId: job.userId });
  }

  /** Runs a final write, retrying with backoff for FINAL_SAVE_RETRY_MS while the database is unreachable (not past shutdown); true once it succeeded. */
  private async retrying(what: string, messageId: string, write: () => Promise<void>): Promise<boolean> {
    const deadline = Date.now() + FINAL_SAVE_RETRY_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await write();
        if (attempt > 0) this.logger.info(`${what} succeeded after retrying`, { messageId, attempts: attempt + 1 });
        return true;
      } catch (err) {
        // Only an unreachable database is worth waiting for; a statement it refuses would be refused again.
        if (this.closing || Date.now() > deadline || !isDatabaseUnavailable(err)) {
          this.logger.error(`${what} failed`, { messageId, err });
          return false;
        }
        if (attempt === 0) this.logger.warn(`${what} failed; retrying`, { messageId, err });
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, FINAL_SAVE_BACKOFF_MAX_MS)));
      }
    }
  }

  /** Saves every unsaved partial reply in one statement (guarded: never touches a finished message). */
  private flushUnsaved(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batch = [...this.unsaved.values()];
    this.unsaved.clear();
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing
      .then(async () => {
        for (let i = 0; i < batch.length; i += 500) {
          const part = batch.slice(i, i + 500);
          try {
            await savePartialReplies(this.em.fork(), part);
          } catch {
            // One reply the database refuses must not cost the others their saves: retry one by one.
            for (const row of part) {
              await savePartialReplies(this.em.fork(), [row]).catch((err: unknown) =>
                this.logger.error('saving a partial reply failed', { messageId: row.messageId, err }),
              );
            }
          }
        }
      })
      .catch((err: unknown) => {
        this.logger.error('saving partial replies failed', { err, messages: batch.length });
      });
    return this.flushing;
  }

  private async heartbeat(): Promise<void> {
    if (this.running.size === 0) return;
    await touchHeartbeats(this.em.fork(), [...this.running.keys()]).catch((err: unknown) => this.logger.warn('generation heartbeat failed', { err }));
  }

  /** Marks STREAMING messages whose generation stopped reporting INTERRUPTED (never a live one). */
  private async sweep(): Promise<void> {
    try {
      // Our own replies first: after a database outage their heartbeats are stale, but they live.
      if (this.running.size > 0) await touchHeartbeats(this.em.fork(), [...this.running.keys()]);
      const rows = await interruptStaleReplies(this.em.fork(), this.config.chat.staleGenerationSeconds);
      for (const row of rows) {
        this.logger.warn('generation interrupted (its process stopped reporting)', { messageId: row.id });
        this.publish({ messageId: row.id, offset: row.content.length, delta: '', done: true, status: MessageStatus.INTERRUPTED });
        this.events.publish(row.ownerId, ChatEventType.MESSAGE_FINISHED, { conversationId: row.conversationId, messageId: row.id });
      }
    } catch (err) {
      this.logger.warn('generation sweep failed', { err });
    }
  }
}
