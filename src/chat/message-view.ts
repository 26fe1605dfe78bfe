import type { AttachmentFile } from './attachment.entity';
import type { MessageView } from './chat.types';
import type { Message } from './message.entity';

/** A message as the API shows it (with its attachments, when loaded). */
export function toView(m: Message, attachments: AttachmentFile[] = []): MessageView {
  const usage =
    m.promptTokens !== null && m.promptTokens !== undefined && m.completionTokens !== null && m.completionTokens !== undefined
      ? { promptTokens: m.promptTokens, completionTokens: m.completionTokens }
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
    clientMessageId: m.clientMessageId ?? null,
    attachments: attachments.map((a) => ({ id: a.id, filename: a.filename, mimeType: a.mimeType, size: a.size })),
    createdAt: m.createdAt,
  };
}
