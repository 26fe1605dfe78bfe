import { Ctx, Field, FieldResolver, ID, ObjectType, Resolver, Root, Subscription } from 'type-graphql';
import { requireAuth, type Context } from '../graphql/context';
import { ChatEventType, type ChatEventData } from './chat-events';
import { MessageView } from './chat.types';
import { Conversation } from './conversation.entity';
import { findConversation, findMessageView } from './message-view';

@ObjectType({ description: "A change to one of the caller's conversations or messages, made on any device or instance." })
export class ChatEvent {
  @Field(() => ChatEventType, { description: 'What changed.' })
  type!: ChatEventType;

  @Field(() => ID, { description: 'The conversation concerned (also when it was deleted).' })
  conversationId!: string;

  @Field(() => ID, { nullable: true, description: 'The message concerned, for message events (also when it was deleted since).' })
  messageId!: string | null;
}

@Resolver(() => ChatEvent)
export class ChatEventsResolver {
  @Subscription(() => ChatEvent, {
    description:
      "The caller's conversation and message changes from every device: created, updated, deleted, message created, reply finished. No replay: after a reconnect or SLOW_CONSUMER, refetch what is shown.",
    subscribe: ({ context }) => {
      // Checked here, where the subscription starts; the topic is the caller's own, so nobody else's events can arrive.
      const ctx = context as Context;
      return ctx.services.chatEvents.subscribe(requireAuth(ctx).userId);
    },
  })
  chatEvents(@Root() event: ChatEventData): ChatEvent {
    return { type: event.type, conversationId: event.conversationId, messageId: event.messageId ?? null };
  }

  @FieldResolver(() => Conversation, { nullable: true, description: 'The conversation as it is now; null once deleted.' })
  conversation(@Root() event: ChatEvent, @Ctx() ctx: Context): Promise<Conversation | null> {
    if (!ctx.auth || event.type === ChatEventType.CONVERSATION_DELETED) return Promise.resolve(null);
    return findConversation(ctx.em, ctx.auth.userId, event.conversationId);
  }

  @FieldResolver(() => MessageView, { nullable: true, description: 'The message as it is now, for message events; null otherwise or once deleted.' })
  message(@Root() event: ChatEvent, @Ctx() ctx: Context): Promise<MessageView | null> {
    if (!ctx.auth || !event.messageId) return Promise.resolve(null);
    return findMessageView(ctx.em, ctx.auth.userId, event.messageId);
  }
}
