import { registerEnumType } from 'type-graphql';
import { RateLimitedError } from '../graphql/errors';
import type { PubSub, TopicSubscription } from '../pubsub/topics';

/**
 * Live `chatEvents` subscriptions one user may hold on one instance (every device and tab has
 * one). Each of the user's changes is resolved once per subscription, with the selection it
 * asked for (a conversation and its messages page): without a bound, one account's 50
 * sockets × 25 subscriptions turned every message sent into over a thousand database reads.
 */
export const CHAT_EVENTS_PER_USER = 20;

/** What changed in one of the caller's conversations. */
export enum ChatEventType {
  CONVERSATION_CREATED = 'CONVERSATION_CREATED',
  CONVERSATION_UPDATED = 'CONVERSATION_UPDATED',
  CONVERSATION_DELETED = 'CONVERSATION_DELETED',
  MESSAGE_CREATED = 'MESSAGE_CREATED',
  MESSAGE_FINISHED = 'MESSAGE_FINISHED',
}

registerEnumType(ChatEventType, {
  name: 'ChatEventType',
  description:
    'What changed: a conversation created, updated (title, settings, or messages edited, regenerated or removed) or deleted; a message created; a reply finished.',
});

/** One change as published: ids only (no text), resolved for the subscriber when delivered. */
export interface ChatEventData {
  type: ChatEventType;
  conversationId: string;
  messageId?: string | null;
}

declare module '../pubsub/topics' {
  interface Topics {
    /** Every change to one user's conversations and messages, scoped by the owner's id. */
    'chat:events': [userId: string, event: ChatEventData];
  }
}

/**
 * The one way chat changes reach `chatEvents` subscribers on every device and instance. Call
 * `publish` only after the write it announces has committed: a subscriber resolves the ids
 * right away and must see the change.
 */
export class ChatEvents {
  /** Live subscriptions by user, against CHAT_EVENTS_PER_USER. */
  private readonly live = new Map<string, number>();

  constructor(private readonly pubsub: PubSub) {}

  /** Announces a committed change of `userId`'s conversation (and message) to their subscribers. */
  publish(userId: string, type: ChatEventType, ids: { conversationId: string; messageId?: string | null }): void {
    this.pubsub.publish('chat:events', userId, { type, conversationId: ids.conversationId, messageId: ids.messageId ?? null });
  }

  /** The caller's changes from now on, in a bounded queue (a reader that stops reading ends with SLOW_CONSUMER); at most CHAT_EVENTS_PER_USER at once. */
  subscribe(userId: string): AsyncIterableIterator<ChatEventData> {
    const held = this.live.get(userId) ?? 0;
    if (held >= CHAT_EVENTS_PER_USER)
      throw new RateLimitedError(1, `At most ${CHAT_EVENTS_PER_USER} chatEvents subscriptions may be open at once; close one first`, 'CONCURRENT_STREAMS');
    this.live.set(userId, held + 1);
    return counted(this.pubsub.subscribe('chat:events', userId), () => {
      const n = (this.live.get(userId) ?? 1) - 1;
      if (n > 0) this.live.set(userId, n);
      else this.live.delete(userId);
    });
  }
}

/** `inner`, calling `release` once when it ends by any path: return (unsubscribe, socket closed), completion or an error (SLOW_CONSUMER). */
function counted<T>(inner: TopicSubscription<T>, release: () => void): AsyncIterableIterator<T> {
  let released = false;
  const once = () => {
    if (released) return;
    released = true;
    release();
  };
  const it: AsyncIterableIterator<T> = {
    next: () =>
      inner.next().then(
        (r) => {
          if (r.done) once();
          return r;
        },
        (err: unknown) => {
          once();
          throw err;
        },
      ),
    return: () => {
      once();
      return inner.return();
    },
    throw: () => {
      once();
      return inner.throw();
    },
    [Symbol.asyncIterator]: () => it,
  };
  return it;
}
