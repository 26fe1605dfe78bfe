import { Entity, Enum, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Conversation } from './conversation.entity';
import { MessageRole, MessageStatus } from './message-enums';

/** One message of a conversation; assistant messages fill in while STREAMING. */
@Entity({ tableName: 'message' })
@Index({ properties: ['conversation', 'createdAt', 'id'] })
@Index({ properties: ['status', 'heartbeatAt'] })
export class Message {
  [OptionalProps]?: 'id' | 'createdAt' | 'content' | 'status';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => Conversation, deleteRule: 'cascade' })
  conversation!: Conversation;

  @Enum({ items: () => MessageRole, nativeEnumName: 'message_role' })
  role!: MessageRole;

  @Property({ type: 'text' })
  content: string = '';

  @Enum({ items: () => MessageStatus, nativeEnumName: 'message_status' })
  status: MessageStatus = MessageStatus.COMPLETE;

  @Property({ type: 'text', nullable: true })
  model?: string | null;

  @Property({ type: 'integer', nullable: true })
  promptTokens?: number | null;

  @Property({ type: 'integer', nullable: true })
  completionTokens?: number | null;

  @Property({ type: 'text', nullable: true })
  error?: string | null;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  /** The process generating it (while STREAMING). */
  @Property({ type: 'text', nullable: true })
  instanceId?: string | null;

  /** Refreshed by that process while it generates; a stale one means the process died. */
  @Property({ type: 'timestamptz', nullable: true })
  heartbeatAt?: Date | null;
}
