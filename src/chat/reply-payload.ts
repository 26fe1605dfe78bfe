import type { EntityManager } from '@mikro-orm/postgresql';
import { BadUserInputError, NotFoundError } from '../graphql/errors';
import { beyondTimeId, timeIdCursor } from '../graphql/pagination';
import { AttachmentFile } from './attachment.entity';
import { CLIENT_MESSAGE_ID, type SendMessagePayload } from './chat.types';
import type { Conversation } from './conversation.entity';
import { Message } from './message.entity';
import { MessageRole } from './message-enums';
import { toView } from './message-view';

/** The payload of a started reply: both messages, their edges (cursors of `Conversation.messages`) and the conversation. */
export function replyPayload(user: Message, attachments: AttachmentFile[], assistant: Message, conversation: Conversation): SendMessagePayload {
  const userMessage = toView(user, attachments);
  const assistantMessage = toView(assistant);
  return {
    userMessage,
    assistantMessage,
    userMessageEdge: { node: userMessage, cursor: timeIdCursor.encode(user) },
    assistantMessageEdge: { node: assistantMessage, cursor: timeIdCursor.encode(assistant) },
    conversation,
  };
}

/** A `clientMessageId` as given (null when absent); anything but 1 to 64 of [A-Za-z0-9_-:.] is BAD_USER_INPUT. */
export function checkClientMessageId(id: string | null | undefined): string | null {
  if (id === null || id === undefined) return null;
  if (!CLIENT_MESSAGE_ID.test(id)) throw new BadUserInputError('clientMessageId must be 1 to 64 of A-Z a-z 0-9 _ - : .', { field: 'clientMessageId' });
  return id;
}

/**
 * The payload of the caller's earlier send with this `clientMessageId` (its user message and the
 * reply that followed it, as they are now), or undefined when there was none. The same id for
 * another conversation or other text is BAD_USER_INPUT: it is a client bug, not a retry.
 */
export async function earlierSend(
  em: EntityManager,
  userId: string,
  clientMessageId: string,
  expected: { conversationId: string; content: string },
): Promise<SendMessagePayload | undefined> {
  const user = await em.findOne(Message, { sender: userId, clientMessageId }, { populate: ['conversation'] });
  if (!user) return undefined;
  if (user.conversation.id !== expected.conversationId || user.content !== expected.content) {
    throw new BadUserInputError('clientMessageId was already used for another message', { field: 'clientMessageId' });
  }
  const assistant = await em.findOne(
    Message,
    { conversation: user.conversation.id, role: MessageRole.ASSISTANT, ...beyondTimeId(user, 'asc') },
    { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
  );
  if (!assistant) throw new NotFoundError('Message');
  const files = await em.find(AttachmentFile, { message: user.id }, { orderBy: { createdAt: 'asc' } });
  return replyPayload(user, files, assistant, user.conversation);
}
