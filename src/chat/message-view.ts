import type { EntityManager } from '@mikro-orm/postgresql';
import { AttachmentFile } from './attachment.entity';
import type { MessageView } from './chat.types';
import { Conversation } from './conversation.entity';
import { Message } from './message.entity';
import { MessageRole } from './message-enums';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a view is made of: a message entity, or the same columns read without the ORM (message-page.ts). */
export type MessageFields = Pick<
  Message,
  | 'id'
  | 'role'
  | 'content'
  | 'status'
  | 'model'
  | 'promptTokens'
  | 'completionTokens'
  | 'usageEstimated'
  | 'error'
  | 'errorCode'
  | 'finishReason'
  | 'clientMessageId'
  | 'createdAt'
> & { conversation: { id: string } };
export type AttachmentFields = Pick<AttachmentFile, 'id' | 'filename' | 'mimeType' | 'size'>;

/** A message as the API shows it (with its attachments, when loaded). */
export function toView(m: MessageFields, attachments: AttachmentFields[] = []): MessageView {
  const usage =
    m.promptTokens !== null && m.promptTokens !== undefined && m.completionTokens !== null && m.completionTokens !== undefined
      ? { promptTokens: m.promptTokens, completionTokens: m.completionTokens, estimated: m.usageEstimated ?? false }
      : null;
  return {
    id: m.id,
    conversationId: m.conversation.id,
    role: m.role,
    content: m.content,
    status: m.status,
    model: m.model ?? null,
    usage,
    error: m.error ?? null,
    errorCode: m.errorCode ?? null,
    finishReason: m.finishReason ?? null,
    clientMessageId: m.clientMessageId ?? null,
    attachments: attachments.map((a) => ({ id: a.id, filename: a.filename, mimeType: a.mimeType, size: a.size })),
    createdAt: m.createdAt,
  };
}

/**
 * The user's message as the API shows it, read through a fresh fork (a long-lived subscription's
 * `em` would serve a stale copy); null when it is gone or not theirs. For events delivered later.
 */
export async function findMessageView(em: EntityManager, userId: string, id: string): Promise<MessageView | null> {
  const m = UUID.test(id) ? await em.fork().findOne(Message, { id, conversation: { owner: userId } }, { populate: ['conversation'] }) : null;
  if (!m) return null;
  const files = m.role === MessageRole.USER ? await em.fork().find(AttachmentFile, { message: m.id }, { orderBy: { createdAt: 'asc' } }) : [];
  return toView(m, files);
}

/** The user's conversation read through a fresh fork; null when it is gone or not theirs. For events delivered later. */
export function findConversation(em: EntityManager, userId: string, id: string): Promise<Conversation | null> {
  return UUID.test(id) ? em.fork().findOne(Conversation, { id, owner: userId }) : Promise.resolve(null);
}
