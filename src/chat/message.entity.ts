import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { User } from '../auth/user.entity';
import { Conversation } from './conversation.entity';
import { FinishReason, MessageRole, MessageStatus, type ErrorCode } from './message-enums';
import type { ModelParameters } from './model-parameters';

/** One message of a conversation; assistant messages fill in while STREAMING. */
@Entity({ tableName: 'message' })
@Index({ properties: ['conversation', 'createdAt', 'id'] })
@Index({ properties: ['status', 'heartbeatAt'] })
// Safe retries: one message per (sender, clientMessageId), even for two instances inserting at once.
@Unique({ name: 'message_sender_client_message_id_unique', properties: ['sender', 'clientMessageId'] })
export class Message {
  [OptionalProps]?: 'id' | 'createdAt' | 'content' | 'contentSealed' | 'status';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => Conversation, deleteRule: 'cascade' })
  conversation!: Conversation;

  @Enum({ items: () => MessageRole, nativeEnumName: 'message_role' })
  role!: MessageRole;

  /** The text, sealed under the owner's data key in the database (see contentSealed); plain here. */
  @Property({ persist: false })
  content: string = '';

  /** What the `content` column holds: the text sealed (src/crypto), kept in step by the sealing subscriber. */
  @Property({ type: 'text', fieldName: 'content', hidden: true })
  contentSealed: string = '';

  @Enum({ items: () => MessageStatus, nativeEnumName: 'message_status' })
  status: MessageStatus = MessageStatus.COMPLETE;

  @Property({ type: 'text', nullable: true })
  model?: string | null;

  @Property({ type: 'integer', nullable: true })
  promptTokens?: number | null;

  @Property({ type: 'integer', nullable: true })
  completionTokens?: number | null;

  /** True when the provider reported no usage and the tokens were counted here (4 characters a token). */
  @Property({ type: 'boolean', nullable: true })
  usageEstimated?: boolean | null;

  @Property({ type: 'text', nullable: true })
  error?: string | null;

  /** A stable code (ERROR_CODES) for a reply that did not complete. */
  @Property({ type: 'text', nullable: true })
  errorCode?: ErrorCode | null;

  /** Why a reply ended; null while STREAMING and on user messages. */
  @Enum({ items: () => FinishReason, nativeEnumName: 'finish_reason', nullable: true })
  finishReason?: FinishReason | null;

  /** The model parameters the caller asked for (an assistant reply), so a regenerate can reuse them. */
  @Property({ type: 'json', nullable: true })
  parameters?: ModelParameters | null;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  /** Who wrote a user message (null on assistant replies and on messages from before this column). */
  @ManyToOne({ entity: () => User, deleteRule: 'cascade', nullable: true })
  sender?: User | null;

  /** The sender's own id for this message (sendMessage's clientMessageId): a retry with it returns this message. */
  @Property({ type: 'text', nullable: true })
  clientMessageId?: string | null;

  /** The process generating it (while STREAMING). */
  @Property({ type: 'text', nullable: true })
  instanceId?: string | null;

  /** Refreshed by that process while it generates; a stale one means the process died. */
  @Property({ type: 'timestamptz', nullable: true })
  heartbeatAt?: Date | null;
}
