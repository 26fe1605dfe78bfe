import { registerEnumType } from 'type-graphql';
import type { PubSub, TopicSubscription } from '../pubsub/topics';

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
  constructor(private readonly pubsub: PubSub) {}

  /** Announces a committed change of `userId`'s conversation (and message) to their subscribers. */
  publish(userId: string, type: ChatEventType, ids: { conversationId: string; messageId?: string | null }): void {
    this.pubsub.publish('chat:events', userId, { type, conversationId: ids.conversationId, messageId: ids.messageId ?? null });
  }

  /** The caller's changes from now on, in a bounded queue (a reader that stops reading ends with SLOW_CONSUMER). */
  subscribe(userId: string): TopicSubscription<ChatEventData> {
    return this.pubsub.subscribe('chat:events', userId);
  }
}
