import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError, NotFoundError } from '../graphql/errors';
import type { PlainSubscriptions } from '../graphql/plain-subscriptions';
import type { PubSub, TopicSubscription } from '../pubsub/topics';
import type { StreamEventData } from './stream-topic';
import { MessageStatus } from './message-enums';
import { isOwnedReply, readStoredMessage, type StoredMessage } from './message-store';

/** How long to wait for a live event before checking the database again. */
const RECHECK_MS = 1000;
/** How long a gap (events missed before subscribing) may take to reach the database. */
const GAP_WAIT_MS = 3000;
/** Bytes of merged deltas held for a subscriber that stopped reading; past it, SLOW_CONSUMER. */
export const MAX_QUEUED_DELTA_BYTES = 1024 * 1024;

/**
 * Merges a queued delta with the next one when they touch or overlap, so a slow reader gets
 * one larger event instead of many: offsets make this exact. A final event is never merged
 * (it is delivered after the deltas, as it is).
 */
export function mergeDeltas(last: StreamEventData, next: StreamEventData): StreamEventData | undefined {
  if (last.done || next.done) return undefined;
  const end = last.offset + last.delta.length;
  if (next.offset < last.offset || next.offset > end) return undefined;
  const nextEnd = next.offset + next.delta.length;
  if (nextEnd <= end) return last;
  return { ...last, delta: last.delta + next.delta.slice(end - next.offset) };
}

/**
 * `messageStream` events are plain data: its resolver returns the event as it is, and every field
 * but `message` (read from the database on the final event) is a property of it. Such a
 * subscription is authorized once when it starts (revocation closes the socket, ending it), and
 * each event's result is built without a per-event execution (graphql/plain-subscriptions.ts).
 */
export const PLAIN_SUBSCRIPTIONS: PlainSubscriptions = {
  roots: ['messageStream'],
  fields: {
    MessageStreamEvent: ['messageId', 'offset', 'delta', 'done', 'status', 'usage', 'error'],
    // `estimated` has a resolver (absent means false); an event without it takes the full path.
    TokenUsage: ['promptTokens', 'completionTokens', 'estimated'],
  },
};

/** The stored message, read through a fresh fork. */
function readStored(em: EntityManager, messageId: string): Promise<StoredMessage | undefined> {
  return readStoredMessage(em.fork(), messageId);
}

function finalEvent(messageId: string, offset: number, s: StoredMessage): StreamEventData {
  const usage =
    s.promptTokens !== null && s.completionTokens !== null
      ? { promptTokens: s.promptTokens, completionTokens: s.completionTokens, estimated: s.usageEstimated ?? false }
      : null;
  return { messageId, offset, delta: '', done: true, status: s.status, usage, error: s.error };
}

/**
 * Reads `live` with a timeout: the next event, or undefined after `ms` (a later event waits in
 * the queue, so none is lost); after the subscription ends it waits `ms` and returns undefined
 * (the caller's database re-check then finishes the stream).
 */
function nextLiveEvent(live: TopicSubscription<StreamEventData>): (ms: number) => Promise<StreamEventData | undefined> {
  return async (ms) => {
    const r = await live.nextWithin(ms);
    if (r === undefined) return undefined;
    if (r.done) {
      // Ended without an error (only by our own return): the database re-check finishes the stream.
      await new Promise((resolve) => setTimeout(resolve, ms));
      return undefined;
    }
    return r.value;
  };
}

/**
 * The message with its text through `offset`, for events published before we subscribed: from
 * this process's memory when it generates the reply (append-only text), else from the database,
 * which they reach within a persist interval. Undefined when the message was deleted.
 */
async function storedThrough(
  em: EntityManager,
  messageId: string,
  offset: number,
  stored: StoredMessage,
  textSoFar?: (messageId: string) => string | undefined,
): Promise<StoredMessage | undefined> {
  const here = textSoFar?.(messageId);
  if (here !== undefined && here.length >= offset) return { ...stored, content: here };
  const deadline = Date.now() + GAP_WAIT_MS;
  for (;;) {
    const read = await readStored(em, messageId);
    if (!read || read.content.length >= offset || read.status !== MessageStatus.STREAMING) return read;
    if (Date.now() > deadline) throw new Error('stream gap not filled; resubscribe with fromOffset');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The events a `messageStream(messageId, fromOffset)` subscriber receives: it subscribes to the
 * live topic first, then reads what is stored and sends what the subscriber lacks from
 * `fromOffset`, then the live tail, trimming overlaps and filling gaps from the database, so
 * the deltas always concatenate to exactly the stored content. A finished message yields the
 * remainder and a final `done` event. While no event arrives the database is re-checked, so a
 * final event missed in the subscription race still ends the stream. A reader that falls more
 * than MAX_QUEUED_DELTA_BYTES behind ends with SLOW_CONSUMER and resubscribes with `fromOffset`.
 */
export async function* messageEvents(
  em: EntityManager,
  pubsub: PubSub,
  messageId: string,
  fromOffset: number | null,
  /** The reply's text so far when this process generates it (GenerationRunner.textSoFar): fills a gap with no database wait. */
  textSoFar?: (messageId: string) => string | undefined,
): AsyncGenerator<StreamEventData> {
  fromOffset ??= 0;
  if (!Number.isInteger(fromOffset) || fromOffset < 0) throw new BadUserInputError('fromOffset must be a whole number, 0 or more', { field: 'fromOffset' });
  // Subscribed before the database is read, so nothing falls between the two. While this
  // generator waits on a slow socket, live deltas merge in the queue (bounded by bytes).
  const live = pubsub.subscribe('message:stream', messageId, { merge: mergeDeltas, size: (e) => e.delta.length * 2, maxBytes: MAX_QUEUED_DELTA_BYTES });
  const next = nextLiveEvent(live);

  try {
    let stored = await readStored(em, messageId);
    if (!stored) return;
    if (stored.status !== MessageStatus.STREAMING && fromOffset > stored.content.length) {
      throw new BadUserInputError('fromOffset is past the end of the message', { field: 'fromOffset' });
    }
    let covered = fromOffset;
    const emitStoredUpTo = function* (end: number) {
      if (stored && end > covered && stored.content.length >= end) {
        const delta = stored.content.slice(covered, end);
        const offset = covered;
        covered = end;
        // A finished message's replay reports its final status on every event, not STREAMING.
        yield { messageId, offset, delta, done: false, status: stored.status } as StreamEventData;
      }
    };
    yield* emitStoredUpTo(stored.content.length);
    if (stored.status !== MessageStatus.STREAMING) {
      yield finalEvent(messageId, covered, stored);
      return;
    }

    for (;;) {
      const ev = await next(RECHECK_MS);
      if (!ev) {
        // Generated here: its final event cannot be missed while it runs, so no database read
        // (an event lost on the way through Redis is caught once it has ended, a check later).
        if (textSoFar?.(messageId) !== undefined) continue;
        stored = await readStored(em, messageId);
        if (!stored) return; // deleted
        if (stored.status !== MessageStatus.STREAMING) {
          yield* emitStoredUpTo(stored.content.length);
          yield finalEvent(messageId, covered, stored);
          return;
        }
        continue;
      }
      if (ev.offset > covered) {
        stored = await storedThrough(em, messageId, ev.offset, stored, textSoFar);
        if (!stored) return;
        yield* emitStoredUpTo(ev.offset);
      }
      if (ev.done) {
        if (ev.offset > covered) {
          stored = (await readStored(em, messageId)) ?? stored;
          yield* emitStoredUpTo(stored.content.length);
        }
        yield { ...ev, offset: covered, delta: '' };
        return;
      }
      const end = ev.offset + ev.delta.length;
      if (end <= covered) continue;
      // The published event as it is when it starts where we are (the common case: no copy).
      yield ev.offset === covered ? ev : { ...ev, offset: covered, delta: ev.delta.slice(covered - ev.offset) };
      covered = end;
    }
  } finally {
    await live.return();
  }
}

/**
 * `messageStream`'s start, authorized once: the message must be an assistant reply of the
 * caller's (anything else is NOT_FOUND), checked with one plain read; then its events.
 */
export async function openMessageStream(
  em: EntityManager,
  pubsub: PubSub,
  userId: string,
  messageId: string,
  fromOffset: number | null,
  textSoFar?: (messageId: string) => string | undefined,
): Promise<AsyncGenerator<StreamEventData>> {
  if (!(await isOwnedReply(em, messageId, userId))) throw new NotFoundError('Message');
  return messageEvents(em, pubsub, messageId, fromOffset, textSoFar);
}
