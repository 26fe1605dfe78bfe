import { Matches, MaxLength } from 'class-validator';
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { Connection, Edge } from '../graphql/pagination';
import { Conversation } from './conversation.entity';
import { FinishReason, MessageRole, MessageStatus, type ErrorCode } from './message-enums';
import { ModelParametersInput } from './model-parameters';

/** sendMessage's clientMessageId: short and plain, so it is cheap to index and safe to log. */
export const CLIENT_MESSAGE_ID = /^[A-Za-z0-9_\-:.]{1,64}$/;
export const CLIENT_MESSAGE_ID_MAX = 64;

/** `totalTokens` and `estimated` are resolved in usage.resolver.ts (stream events carry only the counts). */
@ObjectType({ description: 'Tokens a reply used.' })
export class TokenUsage {
  @Field(() => Int, { description: 'Tokens of the history sent to the model.' })
  promptTokens!: number;

  @Field(() => Int, { description: 'Tokens of the reply.' })
  completionTokens!: number;

  estimated?: boolean;
}

@ObjectType({ description: 'A file attached to a message.' })
export class Attachment {
  @Field(() => ID, { description: 'Attachment id.' })
  id!: string;

  @Field({ description: 'File name as uploaded (sanitised).' })
  filename!: string;

  @Field({ description: 'Type sniffed from the bytes.' })
  mimeType!: string;

  @Field(() => Int, { description: 'Size in bytes.' })
  size!: number;
}

@ObjectType('Message', { description: 'One message of a conversation. Assistant replies fill in while STREAMING.' })
export class MessageView {
  @Field(() => ID, { description: 'Message id.' })
  id!: string;

  @Field(() => ID, { description: 'The conversation it belongs to.' })
  conversationId!: string;

  @Field(() => MessageRole, { description: 'Who wrote it.' })
  role!: MessageRole;

  @Field({ description: 'The text so far (all of it once no longer STREAMING).' })
  content!: string;

  @Field(() => MessageStatus, { description: 'Where the message is.' })
  status!: MessageStatus;

  @Field(() => String, { nullable: true, description: 'The model that wrote an assistant reply.' })
  model!: string | null;

  @Field(() => TokenUsage, { nullable: true, description: 'Tokens used, once a reply has finished.' })
  usage!: TokenUsage | null;

  @Field(() => String, { nullable: true, description: 'Why a reply FAILED (short, safe text).' })
  error!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'A stable code for a reply that did not complete: UPSTREAM_TIMEOUT, UPSTREAM_ERROR, UPSTREAM_RATE_LIMITED, UPSTREAM_REFUSED, QUOTA_EXCEEDED or INTERNAL_ERROR (FAILED), CANCELLED, INTERRUPTED.',
  })
  errorCode!: ErrorCode | null;

  @Field(() => FinishReason, { nullable: true, description: 'Why a reply ended (null while STREAMING and on user messages).' })
  finishReason!: FinishReason | null;

  @Field(() => ID, { nullable: true, description: "The sender's own id for a user message (sendMessage's `clientMessageId`), when one was given." })
  clientMessageId!: string | null;

  @Field(() => [Attachment], { description: 'Files attached to the message.' })
  attachments!: Attachment[];

  @Field({ description: 'When it was written.' })
  createdAt!: Date;
}

@ObjectType({ description: 'A message in a page.' })
export class MessageEdge extends Edge(MessageView, 'The message.') {}

@ObjectType({ description: 'A page of messages, oldest first.' })
export class MessageConnection extends Connection(MessageEdge, 'The messages.') {}

@ObjectType({ description: 'A conversation in a page.' })
export class ConversationEdge extends Edge(Conversation, 'The conversation.') {}

@ObjectType({ description: 'A page of conversations, newest first (by update unless asked otherwise).' })
export class ConversationConnection extends Connection(ConversationEdge, 'The conversations.') {}

@ObjectType({
  description:
    'What sendMessage, regenerateReply or editMessage stored: the user message, the assistant reply it started, their edges and the updated conversation (enough for a normalized cache, with no refetch).',
})
export class SendMessagePayload {
  @Field(() => MessageView, { description: 'The message just sent (regenerateReply: the prompt; editMessage: the edited message).' })
  userMessage!: MessageView;

  @Field(() => MessageView, { description: 'The reply, STREAMING; subscribe to messageStream for its text.' })
  assistantMessage!: MessageView;

  @Field(() => MessageEdge, { description: 'The user message with its cursor in `Conversation.messages`.' })
  userMessageEdge!: MessageEdge;

  @Field(() => MessageEdge, { description: 'The reply with its cursor in `Conversation.messages`.' })
  assistantMessageEdge!: MessageEdge;

  @Field(() => Conversation, { description: 'The conversation as it now is (its new `updatedAt`, and its title once the first message gave it one).' })
  conversation!: Conversation;
}

@ObjectType({ description: 'A piece of a streamed reply. Concatenating `delta`s in order gives the content.' })
export class MessageStreamEvent {
  @Field(() => ID, { description: 'The message.' })
  messageId!: string;

  @Field(() => Int, { description: 'Character offset of `delta` in the full content.' })
  offset!: number;

  @Field({ description: 'Text at `offset` (empty on the final event unless it carries a remainder).' })
  delta!: string;

  @Field({ description: 'True on the last event; the subscription then completes.' })
  done!: boolean;

  @Field(() => MessageStatus, { description: 'STREAMING, or the final status on the last event.' })
  status!: MessageStatus;

  @Field(() => TokenUsage, { nullable: true, description: 'Tokens used (last event).' })
  usage?: TokenUsage | null;

  @Field(() => String, { nullable: true, description: 'Why it FAILED (last event).' })
  error?: string | null;
}

@InputType({ description: 'A new conversation.' })
export class CreateConversationInput {
  @Field(() => String, { nullable: true, description: 'Title (at most 200 characters); from the first message when omitted.' })
  @MaxLength(200)
  title?: string | null;

  @Field(() => String, { nullable: true, description: 'One of `models`; the default model when omitted.' })
  @MaxLength(200)
  model?: string | null;

  @Field(() => String, { nullable: true, description: 'Instructions sent first on every reply (at most 8,000 characters).' })
  @MaxLength(8000)
  systemPrompt?: string | null;
}

@InputType({ description: 'A message to send.' })
export class SendMessageInput {
  @Field(() => ID, { description: 'The conversation.' })
  conversationId!: string;

  @Field({ description: 'The text: 1 to 32,000 characters.' })
  @MaxLength(32_000)
  content!: string;

  @Field(() => [ID], { nullable: true, description: 'Uploaded attachments to include.' })
  attachmentIds?: string[] | null;

  @Field(() => ModelParametersInput, { nullable: true, description: 'Temperature, output limit and topP for the reply; out of range is BAD_USER_INPUT.' })
  parameters?: ModelParametersInput | null;

  @Field(() => ID, {
    nullable: true,
    description:
      "The client's own id for this message (1 to 64 of A-Z a-z 0-9 _ - : .), unique per user: a retry with it returns the first call's payload and starts nothing; with another conversation or text it is BAD_USER_INPUT.",
  })
  @MaxLength(CLIENT_MESSAGE_ID_MAX)
  @Matches(CLIENT_MESSAGE_ID)
  clientMessageId?: string | null;
}
