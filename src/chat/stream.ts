import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError } from '../graphql/errors';
import type { PubSub } from '../pubsub/topics';
import type { StreamEventData } from './stream-topic';
import { MessageStatus } from './message-enums';
import { readStoredMessage, type StoredMessage } from './message-store';

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
 * Reads `live` with a timeout: the next event, or undefined after `ms`. A wait that times out is
 * kept for the next call, so no event is lost; after the subscription ends it waits `ms` and
 * returns undefined (the caller's database re-check then finishes the stream).
 */
function nextLiveEvent(live: AsyncIterator<StreamEventData>): (ms: number) => Promise<StreamEventData | undefined> {
  let pending: Promise<IteratorResult<StreamEventData>> | undefined;
  return async (ms) => {
    pending ??= live.next();
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([pending, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
    clearTimeout(timer);
    if (r === undefined) return undefined;
    pending = undefined;
    if (r.done) {
      // Ended without an error (only by our own return): the database re-check finishes the stream.
      await new Promise((resolve) => setTimeout(resolve, ms));
      return undefined;
    }
    return r.value;
  };
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
export async function* messageEvents(em: EntityManager, pubsub: PubSub, messageId: string, fromOffset: number | null): AsyncGenerator<StreamEventData> {
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
        // Events published before we subscribed: they reach the database within a persist interval.
        const deadline = Date.now() + GAP_WAIT_MS;
        for (;;) {
          stored = await readStored(em, messageId);
          if (!stored || stored.content.length >= ev.offset || stored.status !== MessageStatus.STREAMING) break;
          if (Date.now() > deadline) throw new Error('stream gap not filled; resubscribe with fromOffset');
          await new Promise((r) => setTimeout(r, 50));
        }
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
      yield { ...ev, offset: covered, delta: ev.delta.slice(covered - ev.offset) };
      covered = end;
    }
  } finally {
    await live.return();
  }
}
