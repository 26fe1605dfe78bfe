import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError, NotFoundError } from '../graphql/errors';
import type { PlainSubscriptions } from '../graphql/plain-subscriptions';
import type { PubSub, TopicSubscription } from '../pubsub/topics';
import type { StreamEventData } from './stream-topic';
import { MessageStatus } from './message-enums';
import { readOwnedReply, readStoredMessage, type StoredMessage } from './message-store';

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
 * the queue, so none is lost), or null once the subscription was ended by our own return (the
 * reader left: the stream ends at once).
 */
function nextLiveEvent(live: TopicSubscription<StreamEventData>): (ms: number) => Promise<StreamEventData | undefined | null> {
  return async (ms) => {
    const r = await live.nextWithin(ms);
    if (r === undefined) return undefined;
    return r.done ? null : r.value;
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
 * remainder and a final `done` event. While no event arrives the database is re-checked (unless
 * this process runs the generation, whose events cannot be missed), so a final event lost on the
 * way (Redis) or missed in the subscription race still ends the stream. A reader that falls more
 * than MAX_QUEUED_DELTA_BYTES behind ends with SLOW_CONSUMER and resubscribes with `fromOffset`.
 */
export async function* messageEvents(
  em: EntityManager,
  pubsub: PubSub,
  messageId: string,
  fromOffset: number | null,
  /** The reply's text so far when this process generates it (GenerationRunner.textSoFar): fills a gap with no database wait. */
  textSoFar?: (messageId: string) => string | undefined,
  /** The live subscription and the read made after it, when the caller has made them (openMessageStream). */
  start?: { live: TopicSubscription<StreamEventData>; stored: StoredMessage },
): AsyncGenerator<StreamEventData> {
  // Subscribed before the database is read, so nothing falls between the two.
  const live = start?.live ?? subscribeLive(pubsub, messageId);
  const next = nextLiveEvent(live);

  try {
    fromOffset ??= 0;
    if (!Number.isInteger(fromOffset) || fromOffset < 0) throw new BadUserInputError('fromOffset must be a whole number, 0 or more', { field: 'fromOffset' });
    let stored = start ? start.stored : await readStored(em, messageId);
    if (!stored) return;
    // Text generated here but not saved yet goes out now, not with the next chunk (the upstream may be paused).
    const here = stored.status === MessageStatus.STREAMING ? textSoFar?.(messageId) : undefined;
    if (here !== undefined && here.length > stored.content.length) stored = { ...stored, content: here };
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
      if (ev === null) return;
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

/** The live events of one message; while the reader waits on a slow socket, deltas merge in the queue (bounded by bytes). */
function subscribeLive(pubsub: PubSub, messageId: string): TopicSubscription<StreamEventData> {
  return pubsub.subscribe('message:stream', messageId, { merge: mergeDeltas, size: (e) => e.delta.length * 2, maxBytes: MAX_QUEUED_DELTA_BYTES });
}

/**
 * `messageStream`'s start, authorized once: subscribes live, then one read both checks that the
 * message is an assistant reply of the caller's (anything else is NOT_FOUND) and gives what is
 * stored; then its events. Ending the events before their first read still unsubscribes.
 */
export async function openMessageStream(
  em: EntityManager,
  pubsub: PubSub,
  userId: string,
  messageId: string,
  fromOffset: number | null,
  textSoFar?: (messageId: string) => string | undefined,
): Promise<AsyncIterableIterator<StreamEventData>> {
  const live = subscribeLive(pubsub, messageId);
  let stored: StoredMessage | undefined;
  try {
    stored = await readOwnedReply(em, messageId, userId);
  } finally {
    if (!stored) await live.return();
  }
  if (!stored) throw new NotFoundError('Message');
  const events = messageEvents(em, pubsub, messageId, fromOffset, textSoFar, { live, stored });
  // An async generator ended before it ran skips its `finally`: unsubscribe here as well.
  const it: AsyncIterableIterator<StreamEventData> = {
    next: () => events.next(),
    return: async () => {
      await live.return();
      return events.return(undefined);
    },
    throw: async (err: unknown) => {
      await live.return();
      return events.throw(err);
    },
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}
