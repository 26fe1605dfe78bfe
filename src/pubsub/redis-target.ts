import type Redis from 'ioredis';

/**
 * Publishes waiting for Redis at most: past it, new ones are dropped until Redis answers again.
 * ioredis queues commands while disconnected and fails them after its retry limit (about 10 s),
 * so the queue is bounded in time by ioredis and in size by this.
 */
const MAX_PENDING_PUBLISHES = 10_000;

/** The listener side of an event target (EventTarget's), plus whether Redis delivers events now. */
export interface RedisTarget {
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
  dispatchEvent(event: Event): boolean;
  /** Calls `listener(false)` when the subscriber connection drops and `listener(true)` once it is back; returns the unsubscribe. */
  onLink(listener: (up: boolean) => void): () => void;
}

/** A Redis payload that is not JSON (never ours) becomes null, which subscribers ignore. */
function parse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

/**
 * An event target over Redis pub/sub (two connections). Unlike @graphql-yoga/redis-event-target,
 * a command that fails while Redis is down never becomes an unhandled rejection: a failed
 * publish is dropped (cross-instance delivery pauses; revocations are re-checked on reconnect,
 * see auth/revocations.ts), and a SUBSCRIBE that failed is sent again once Redis is back, so a
 * subscription started during an outage still receives events afterwards.
 */
export function createRedisTarget(clients: { publish: Redis; subscribe: Redis }, onFailure: (what: string, err: Error) => void): RedisTarget {
  const { publish: pub, subscribe: sub } = clients;
  const callbacks = new Map<string, Set<(event: Event) => void>>();
  const links = new Set<(up: boolean) => void>();
  let pending = 0;
  let up = true;

  const failed = new Set<string>();
  const subscribe = (topic: string) =>
    sub.subscribe(topic).catch((err: Error) => {
      failed.add(topic);
      onFailure('subscribe', err);
    });
  sub.on('message', (channel: string, message: string) => {
    const set = callbacks.get(channel);
    if (!set) return;
    const event = new CustomEvent(channel, { detail: message === '' ? null : parse(message) });
    for (const cb of set) cb(event);
  });
  sub.on('close', () => {
    if (!up) return;
    up = false;
    for (const l of links) l(false);
  });
  sub.on('ready', () => {
    // ioredis re-subscribes what it had; a SUBSCRIBE that failed meanwhile is not among them.
    for (const topic of failed) if (callbacks.has(topic)) void subscribe(topic);
    failed.clear();
    if (up) return;
    up = true;
    for (const l of links) l(true);
  });

  return {
    addEventListener(topic, listener) {
      let set = callbacks.get(topic);
      if (!set) {
        set = new Set();
        callbacks.set(topic, set);
        void subscribe(topic);
      }
      set.add(listener);
    },
    removeEventListener(topic, listener) {
      const set = callbacks.get(topic);
      if (!set?.delete(listener) || set.size > 0) return;
      callbacks.delete(topic);
      // A topic nobody listens to any more needs no re-SUBSCRIBE: without this, made-up topics
      // subscribed during an outage would pile up until Redis came back.
      failed.delete(topic);
      void sub.unsubscribe(topic).catch((err: Error) => onFailure('unsubscribe', err));
    },
    dispatchEvent(event) {
      if (pending >= MAX_PENDING_PUBLISHES) {
        onFailure('publish', new Error('too many publishes waiting for Redis'));
        return false;
      }
      pending++;
      const detail: unknown = (event as CustomEvent<unknown>).detail;
      pub
        .publish(event.type, detail === undefined ? '' : JSON.stringify(detail))
        .catch((err: Error) => onFailure('publish', err))
        .finally(() => pending--);
      return true;
    },
    onLink(listener) {
      links.add(listener);
      return () => links.delete(listener);
    },
  };
}
