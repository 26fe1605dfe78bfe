import { setMaxListeners } from 'node:events';
import type Redis from 'ioredis';
import { SlowConsumerError } from '../graphql/errors';
import type { Logger } from '../logging/logger';
import { createRedisTarget } from './redis-target';

/** An audit event as published (JSON-safe: dates as ISO strings). */
export interface AuditEventData {
  id: string;
  seq: number;
  at: string;
  actorId: string | null;
  actorRole: string | null;
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  outcome: string;
  ip: string | null;
  requestId: string | null;
  metadata: Record<string, unknown> | null;
  hash: string;
  prevHash: string;
}

/**
 * The only publish/subscribe surface: typed topics, scoped by id where they concern one thing.
 * In memory for one process; through Redis (two connections) when REDIS_URL is set, so every
 * instance sees every event. A topic whose payload is a feature's own type is added by that
 * feature through declaration merging (chat/stream-topic.ts adds `message:stream`), so the kit
 * names no feature.
 */
export interface Topics {
  /** Ask whichever instance runs a generation to stop it. */
  'generation:cancel': [payload: { messageId: string; reason: 'cancel' | 'delete' }];
  /** A session was revoked: every instance drops it from its cache and closes its sockets (`why` is the close reason). */
  'session:revoked': [payload: { sessionId: string; origin: string; why?: 'session_revoked' | 'account_locked' }];
  /** Every audit event, once written (the live tail for admins and auditors). */
  'audit:events': [event: AuditEventData];
}

/** What a topic's subscribers receive (the last element of its publish arguments). */
export type TopicPayload<K extends keyof Topics> = Topics[K] extends [string, infer P] ? P : Topics[K] extends [infer P] ? P : never;

/** Events held for one subscriber that has not taken them, unless the subscription says otherwise. */
export const MAX_QUEUED_EVENTS = 512;
/**
 * The bound for the process's own listeners (revocations, cancels), which never wait on a
 * socket: a burst published in one go (every session of a user revoked) must fit.
 */
export const INTERNAL_QUEUED_EVENTS = 100_000;
/** Bytes (by the subscription's `size`) held for one subscriber, unless it says otherwise. */
export const MAX_QUEUED_BYTES = 1024 * 1024;

export interface SubscribeOptions<T> {
  /** Most events queued for this subscriber; past it the subscription ends with SLOW_CONSUMER. */
  maxEvents?: number;
  /** Most bytes (by `size`) queued; past it the subscription ends with SLOW_CONSUMER. */
  maxBytes?: number;
  size?: (event: T) => number;
  /** Folds `next` into the last queued event when they can be delivered as one; undefined if not. */
  merge?: (last: T, next: T) => T | undefined;
}

/**
 * One subscriber's events, queued until it takes them. The queue is bounded: a consumer that
 * falls behind (a socket that stopped reading) loses its queue and its next `next()` rejects
 * with SlowConsumerError, so memory stays bounded and the publisher never sees an error.
 */
export class TopicSubscription<T> implements AsyncIterableIterator<T> {
  private queue: T[] = [];
  private bytes = 0;
  private waiting?: {
    resolve: (r: IteratorResult<T>) => void;
    reject: (err: unknown) => void;
    /** Set by nextWithin: how its timer ends the wait with no event. */
    timed?: (r: undefined) => void;
  };
  private timer?: NodeJS.Timeout;
  private deadline = 0;
  private failure?: Error;
  private ended = false;
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly size: (event: T) => number;

  constructor(
    private readonly opts: SubscribeOptions<T>,
    private readonly detach: () => void,
  ) {
    this.maxEvents = opts.maxEvents ?? MAX_QUEUED_EVENTS;
    this.maxBytes = opts.maxBytes ?? MAX_QUEUED_BYTES;
    this.size = opts.size ?? (() => 0);
  }

  /** Called by the event listener: never throws. */
  push(event: T): void {
    if (this.ended || this.failure || event === null || event === undefined) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value: event, done: false });
      return;
    }
    const last = this.queue.length > 0 ? this.queue[this.queue.length - 1] : undefined;
    const merged = last !== undefined && this.opts.merge ? this.opts.merge(last, event) : undefined;
    if (merged !== undefined) {
      this.bytes += this.size(merged) - this.size(last as T);
      this.queue[this.queue.length - 1] = merged;
    } else {
      this.queue.push(event);
      this.bytes += this.size(event);
    }
    if (this.queue.length > this.maxEvents || this.bytes > this.maxBytes) this.fail(new SlowConsumerError());
  }

  /** Ends the subscription with `err` at the consumer's next `next()`, dropping what is queued. */
  fail(err: Error): void {
    if (this.ended || this.failure) return;
    this.queue = [];
    this.bytes = 0;
    this.failure = err;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.detach();
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      this.ended = true;
      w.reject(err);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) {
      const value = this.queue.shift() as T;
      this.bytes -= this.size(value);
      return Promise.resolve({ value, done: false });
    }
    if (this.failure && !this.ended) {
      this.ended = true;
      return Promise.reject(this.failure);
    }
    if (this.ended || this.failure) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /**
   * The next event, or undefined when none arrives within `ms` (nothing is lost: a later event
   * is queued for the next call). One timer serves every wait of the subscription, re-armed only
   * when it fires early, so a busy stream costs no timer per event.
   */
  nextWithin(ms: number): Promise<IteratorResult<T> | undefined> {
    if (this.queue.length > 0 || this.failure || this.ended) return this.next();
    this.deadline = Date.now() + ms;
    this.timer ??= setTimeout(() => this.onDeadline(), ms);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject, timed: resolve }));
  }

  private onDeadline(): void {
    this.timer = undefined;
    const w = this.waiting;
    if (!w?.timed) return;
    const left = this.deadline - Date.now();
    if (left > 0) {
      this.timer = setTimeout(() => this.onDeadline(), left);
      return;
    }
    this.waiting = undefined;
    w.timed(undefined);
  }

  return(): Promise<IteratorResult<T>> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.ended = true;
    this.queue = [];
    this.bytes = 0;
    this.detach();
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(): Promise<IteratorResult<T>> {
    return this.return();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** The listener side of an event target: in memory (EventTarget) or Redis. */
interface Target {
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
  dispatchEvent(event: Event): boolean;
}

export interface PubSub {
  publish<K extends keyof Topics>(topic: K, ...args: Topics[K]): void;
  /** Events of `topic` (scoped to `id` when given), in a bounded queue. */
  subscribe<K extends keyof Topics>(topic: K, id?: string, opts?: SubscribeOptions<TopicPayload<K>>): TopicSubscription<TopicPayload<K>>;
  /**
   * Calls `listener(false)` when events from other instances may be missed (Redis unreachable)
   * and `listener(true)` once they flow again; never called in memory. Returns the unsubscribe.
   */
  onLink(listener: (up: boolean) => void): () => void;
}

/** Creates the process's pub/sub; `redis` gives the two connections Redis pub/sub needs. */
export function createTopics(redis?: { publish: Redis; subscribe: Redis }, logger?: Logger): PubSub {
  let target: Target;
  let onLink: PubSub['onLink'] = () => () => undefined;
  if (redis) {
    // One warning per outage: a stream publishing through it would otherwise log per event.
    let warned = false;
    const redisTarget = createRedisTarget(redis, (what, err) => {
      if (!warned) logger?.warn('redis pub/sub command failed; cross-instance events are dropped until it is back', { what, err: err.message });
      warned = true;
    });
    redisTarget.onLink((up) => {
      if (up) warned = false;
    });
    target = redisTarget;
    onLink = (listener) => redisTarget.onLink(listener);
  } else {
    const local = new EventTarget();
    // Many subscribers of one topic are normal (every admin tails the audit trail): no leak warning on stderr.
    setMaxListeners(0, local);
    target = local;
  }
  return {
    onLink,
    publish(topic, ...args) {
      const [id, payload] = args.length === 2 ? args : [undefined, args[0]];
      target.dispatchEvent(new CustomEvent(id === undefined ? topic : `${topic}:${id}`, { detail: payload }));
    },
    subscribe(topic, id, opts = {}) {
      const name = id === undefined ? topic : `${topic}:${id}`;
      const listener = (event: Event) => {
        try {
          sub.push((event as CustomEvent<TopicPayload<typeof topic>>).detail);
        } catch (err) {
          // A merge or size function that throws ends this one subscription, never the process.
          sub.fail(err instanceof Error ? err : new Error(String(err)));
        }
      };
      const sub = new TopicSubscription<TopicPayload<typeof topic>>(opts, () => target.removeEventListener(name, listener));
      target.addEventListener(name, listener);
      return sub;
    },
  };
}
