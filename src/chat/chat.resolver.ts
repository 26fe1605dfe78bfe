import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription, Directive } from 'type-graphql';
import { recordRead } from '../audit/operation-audit';
import { requestMeta, requireAuth, type Context } from '../graphql/context';
import { rateLimitOf } from '../graphql/rate-limit';
import type { StreamEventData } from './stream-topic';
import {
  ConversationConnection,
  CreateConversationInput,
  MessageConnection,
  MessageStreamEvent,
  MessageView,
  SendMessageInput,
  SendMessagePayload,
} from './chat.types';
import { Conversation } from './conversation.entity';
import { LastMessageLoader, listConversations } from './chat-lists';
import { listMessages } from './message-page';
import { ConversationFilter, ConversationOrder, UpdateConversationInput } from './conversation.types';
import { findMessageView } from './message-view';
import { openMessageStream } from './stream';
import { ModelParametersInput } from './model-parameters';

/** Placeholder title until one is given or taken from the first message. */
const UNTITLED = 'New conversation';

/** One lastMessage batch loader per operation (dropped with its context). */
const loaders = new WeakMap<Context, LastMessageLoader>();

function lastMessageLoader(ctx: Context): LastMessageLoader {
  let loader = loaders.get(ctx);
  if (!loader) loaders.set(ctx, (loader = new LastMessageLoader(ctx.em)));
  return loader;
}

@Resolver()
export class ChatResolver {
  @Query(() => ConversationConnection, { description: "The caller's conversations, most recently updated first unless `orderBy` says otherwise." })
  conversations(
    @Arg('first', () => Int, { nullable: true, description: 'Page size, 1 to 100 (default 20).' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'Cursor of the last item of the previous page (issued under the same `orderBy`).' })
    after: string | null,
    @Arg('orderBy', () => ConversationOrder, { nullable: true, defaultValue: ConversationOrder.UPDATED_AT, description: 'Sort order, newest first.' })
    orderBy: ConversationOrder | null,
    @Arg('filter', () => ConversationFilter, { nullable: true, description: 'What to narrow to; archived ones are listed too unless it says otherwise.' })
    filter: ConversationFilter | null,
    @Ctx() ctx: Context,
  ): Promise<ConversationConnection> {
    return listConversations(ctx.em, requireAuth(ctx), { first, after, orderBy, filter });
  }

  @Query(() => Conversation, { nullable: true, description: "One of the caller's conversations; any other id is NOT_FOUND." })
  async conversation(@Arg('id', () => ID, { description: 'Conversation id.' }) id: string, @Ctx() ctx: Context): Promise<Conversation> {
    const c = await ctx.services.chat.ownedConversation(ctx.em, requireAuth(ctx), id);
    recordRead(ctx, 'conversation', c.id);
    return c;
  }

  @Mutation(() => Conversation, { description: 'Starts a conversation.' })
  createConversation(
    @Arg('input', () => CreateConversationInput, { description: 'Title, model and system prompt, all optional.' }) input: CreateConversationInput,
    @Ctx() ctx: Context,
  ): Promise<Conversation> {
    return ctx.services.chat.createConversation(ctx.em, requireAuth(ctx), input, requestMeta(ctx));
  }

  @Mutation(() => Conversation, { description: "Changes one of the caller's conversations (only the fields given); any other id is NOT_FOUND." })
  updateConversation(
    @Arg('id', () => ID, { description: 'Conversation id.' }) id: string,
    @Arg('input', () => UpdateConversationInput, { description: 'Title, model, system prompt and archived, all optional.' }) input: UpdateConversationInput,
    @Ctx() ctx: Context,
  ): Promise<Conversation> {
    return ctx.services.chat.updateConversation(ctx.em, requireAuth(ctx), id, input, requestMeta(ctx));
  }

  @Mutation(() => Boolean, { description: 'Deletes a conversation and its messages, stopping replies still streaming.' })
  deleteConversation(@Arg('id', () => ID, { description: 'Conversation id.' }) id: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.chat.deleteConversation(ctx.em, requireAuth(ctx), id, requestMeta(ctx));
  }

  @Directive(rateLimitOf('sendMessage'))
  @Mutation(() => SendMessagePayload, { description: 'Sends a message and starts the reply; returns at once. Stream the reply with messageStream.' })
  sendMessage(
    @Arg('input', () => SendMessageInput, { description: 'Conversation and text.' }) input: SendMessageInput,
    @Ctx() ctx: Context,
  ): Promise<SendMessagePayload> {
    return ctx.services.chat.sendMessage(ctx.em, requireAuth(ctx), input, requestMeta(ctx));
  }

  @Mutation(() => MessageView, { description: 'Stops a streaming reply, keeping what was generated; it becomes CANCELLED.' })
  cancelGeneration(@Arg('messageId', () => ID, { description: 'The assistant message.' }) messageId: string, @Ctx() ctx: Context): Promise<MessageView> {
    return ctx.services.chat.cancelGeneration(ctx.em, requireAuth(ctx), messageId, requestMeta(ctx));
  }

  @Directive(rateLimitOf('sendMessage'))
  @Mutation(() => SendMessagePayload, {
    description:
      'Deletes an assistant reply and every later message of its conversation (stopping a reply still running first), and streams a new reply to the same prompt. Counts as a sendMessage for rate limits and quota.',
  })
  regenerateReply(
    @Arg('messageId', () => ID, { description: 'The assistant message to replace; any other message is NOT_FOUND.' }) messageId: string,
    @Arg('parameters', () => ModelParametersInput, { nullable: true, description: 'Sampling settings for the new reply.' })
    parameters: ModelParametersInput | null,
    @Ctx() ctx: Context,
  ): Promise<SendMessagePayload> {
    return ctx.services.replies.regenerateReply(ctx.em, requireAuth(ctx), messageId, parameters, requestMeta(ctx));
  }

  @Directive(rateLimitOf('sendMessage'))
  @Mutation(() => SendMessagePayload, {
    description:
      'Replaces the text of one of your messages, deletes every later message of its conversation (stopping a reply still running first), and streams a new reply. Counts as a sendMessage for rate limits and quota.',
  })
  editMessage(
    @Arg('messageId', () => ID, { description: 'The user message to edit; any other message is NOT_FOUND.' }) messageId: string,
    @Arg('content', { description: 'The new text: 1 to 32,000 characters.' }) content: string,
    @Ctx() ctx: Context,
  ): Promise<SendMessagePayload> {
    return ctx.services.replies.editMessage(ctx.em, requireAuth(ctx), messageId, content, requestMeta(ctx));
  }

  @Subscription(() => MessageStreamEvent, {
    description:
      'A reply as it arrives: first what the caller lacks from `fromOffset`, then the live tail; the last event has `done: true` and carries the final `message`. Any id but one of your assistant messages is NOT_FOUND.',
    subscribe: async ({ args, context }) => {
      const ctx = context as Context;
      const { messageId, fromOffset } = args as { messageId: string; fromOffset?: number | null };
      const textSoFar = (id: string) => ctx.services.runner.textSoFar(id);
      return openMessageStream(ctx.em, ctx.services.pubsub, requireAuth(ctx).userId, messageId, fromOffset ?? 0, textSoFar);
    },
  })
  messageStream(
    @Root() event: StreamEventData,
    @Arg('messageId', () => ID, { description: 'The assistant message to follow.' }) _messageId: string,
    @Arg('fromOffset', () => Int, { nullable: true, defaultValue: 0, description: 'Characters (UTF-16 code units) the caller already has.' })
    _fromOffset: number | null,
  ): MessageStreamEvent {
    return event;
  }
}

@Resolver(() => MessageStreamEvent)
export class MessageStreamEventResolver {
  @FieldResolver(() => MessageView, {
    nullable: true,
    description: 'The final message (content, status, usage…) on the last event, so a cache updates with no refetch; null before it, or once deleted.',
  })
  message(@Root() event: StreamEventData, @Ctx() ctx: Context): Promise<MessageView | null> {
    if (!event.done || !ctx.auth) return Promise.resolve(null);
    return findMessageView(ctx.em, ctx.auth.userId, event.messageId);
  }
}

@Resolver(() => Conversation)
export class ConversationResolver {
  @FieldResolver(() => String, { description: 'Title; from the first message (cut at a word boundary, 60 characters at most) when none was given.' })
  title(@Root() c: Conversation): string {
    return c.title ?? UNTITLED;
  }

  @FieldResolver(() => MessageConnection, { description: 'Messages, oldest first; `last` (with `before`) pages back from the newest.' })
  messages(
    @Root() c: Conversation,
    @Arg('first', () => Int, { nullable: true, description: 'Page size from the oldest (or after `after`), 1 to 100 (default 20).' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'Cursor of the last message of the previous page.' }) after: string | null,
    @Arg('last', () => Int, { nullable: true, description: 'Page size from the newest (or before `before`), 1 to 100; not with `first`.' })
    last: number | null,
    @Arg('before', () => String, { nullable: true, description: 'Cursor of the first message of the page after this one (`startCursor`).' })
    before: string | null,
    @Ctx() ctx: Context,
  ): Promise<MessageConnection> {
    recordRead(ctx, 'conversation.messages', c.id);
    return listMessages(ctx.preparedRead, ctx.em, c, { first, after, last, before });
  }

  @FieldResolver(() => MessageView, { nullable: true, description: 'The newest message; null when there is none.' })
  lastMessage(@Root() c: Conversation, @Ctx() ctx: Context): Promise<MessageView | null> {
    recordRead(ctx, 'conversation.messages', c.id);
    return lastMessageLoader(ctx).load(c.id);
  }
}
