import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditService } from '../audit/audit.service';
import type { AuthInfo, RequestMeta } from '../graphql/context';
import { BadUserInputError, NotFoundError } from '../graphql/errors';
import { beyondTimeId, type TimeIdKey } from '../graphql/pagination';
import { AttachmentFile } from './attachment.entity';
import { ChatEventType, type ChatEvents } from './chat-events';
import { checkContent, type ChatService } from './chat.service';
import type { SendMessagePayload } from './chat.types';
import type { GenerationRunner } from './generation';
import { Message } from './message.entity';
import { MessageRole, MessageStatus } from './message-enums';
import { lockSender } from './message-store';
import { checkModelParameters, type ModelParametersInput } from './model-parameters';
import { replyPayload } from './reply-payload';

/** Messages at or after `key` in (createdAt, id) order. */
function fromKey(key: TimeIdKey) {
  return { $or: [{ createdAt: { $gt: key.createdAt } }, { createdAt: key.createdAt, id: { $gte: key.id } }] };
}

/** How a rewind goes: which message it cuts at, what the new reply answers, and its audit action. */
interface Rewind {
  /** The first message removed (regenerate: the reply itself) or kept last (edit: the edited message). */
  target: Message;
  /** True when `target` itself is removed. */
  removeTarget: boolean;
  action: 'chat.message.regenerate' | 'chat.message.edit';
  /** Inside the transaction, after the lock: the user message the new reply answers (edit: updates it first). */
  prompt(tx: EntityManager): Promise<Message>;
  parameters?: ModelParametersInput | null;
}

/**
 * regenerateReply and editMessage: a conversation is cut back to a message (its later messages
 * deleted, so they leave the model's history) and a new reply streams, with the same streams,
 * quota and audit rules as sendMessage. A reply still running in the removed part is stopped first.
 */
export class ReplyService {
  constructor(
    private readonly chat: ChatService,
    private readonly audit: AuditService,
    private readonly runner: GenerationRunner,
    private readonly events: ChatEvents,
  ) {}

  /** Deletes an assistant reply and every later message, and streams a new reply to the same prompt. */
  async regenerateReply(
    em: EntityManager,
    auth: AuthInfo,
    messageId: string,
    parameters: ModelParametersInput | null | undefined,
    meta: RequestMeta,
  ): Promise<SendMessagePayload> {
    const target = await this.chat.ownedMessage(em, auth, messageId);
    if (target.role !== MessageRole.ASSISTANT) throw new NotFoundError('Message'); // only replies can be regenerated
    return this.rewind(em, auth, meta, {
      target,
      removeTarget: true,
      action: 'chat.message.regenerate',
      parameters,
      prompt: async (tx) => {
        const prompt = await tx.findOne(
          Message,
          { conversation: target.conversation.id, role: MessageRole.USER, ...beyondTimeId(target, 'desc') },
          { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] },
        );
        if (!prompt) throw new BadUserInputError('This reply answers no message', { field: 'messageId' });
        return prompt;
      },
    });
  }

  /** Replaces a user message's text, deletes every later message, and streams a new reply to it. */
  async editMessage(em: EntityManager, auth: AuthInfo, messageId: string, rawContent: string, meta: RequestMeta): Promise<SendMessagePayload> {
    const content = checkContent(rawContent);
    const target = await this.chat.ownedMessage(em, auth, messageId);
    if (target.role !== MessageRole.USER) throw new NotFoundError('Message'); // only the caller's own messages can be edited
    return this.rewind(em, auth, meta, {
      target,
      removeTarget: false,
      action: 'chat.message.edit',
      prompt: async (tx) => {
        const prompt = await tx.findOne(Message, { id: target.id }, { refresh: true });
        if (!prompt) throw new NotFoundError('Message');
        prompt.content = content;
        return prompt;
      },
    });
  }

  private async rewind(em: EntityManager, auth: AuthInfo, meta: RequestMeta, r: Rewind): Promise<SendMessagePayload> {
    const c = r.target.conversation;
    // A regenerate without parameters reuses the ones the replaced reply was asked with.
    const parameters = checkModelParameters(r.parameters ?? (r.removeTarget ? r.target.parameters : null));
    // Stopped before the cut (their tokens settle and their stream slots free up); each stop waits for its end.
    await this.stopRunning(em, c.id, r.target);
    const done = await em.transactional(async (tx) => {
      await lockSender(tx, auth.userId);
      const prompt = await r.prompt(tx);
      const cut = r.removeTarget ? fromKey(r.target) : beyondTimeId(r.target, 'asc');
      // A reply started between the stop and the lock: stopped after the commit (its row is gone by then).
      const late = await tx.find(Message, { conversation: c.id, status: MessageStatus.STREAMING, ...cut });
      const removed = await tx.nativeDelete(Message, { conversation: c.id, ...cut });
      const reply = await this.chat.openReply(tx, auth, c, Math.max(Date.now(), prompt.createdAt.getTime() + 1), parameters);
      await this.audit.record(tx, {
        action: r.action,
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'message',
        resourceId: r.target.id,
        metadata: { conversationId: c.id, assistantMessageId: reply.assistant.id, deletedMessages: removed },
      });
      const files = await tx.find(AttachmentFile, { message: prompt.id }, { orderBy: { createdAt: 'asc' } });
      return { prompt, files, reply, late: late.map((m) => m.id) };
    });
    await Promise.all(done.late.map((id) => this.runner.stop(id, 'delete')));
    this.events.publish(auth.userId, ChatEventType.CONVERSATION_UPDATED, { conversationId: c.id, messageId: done.prompt.id });
    this.chat.launch(auth, c, done.reply);
    return replyPayload(done.prompt, done.files, done.reply.assistant, c);
  }

  /** Stops the replies still streaming at or after `from` in the conversation, waiting for each to end. */
  private async stopRunning(em: EntityManager, conversationId: string, from: Message): Promise<void> {
    const running = await em.fork().find(Message, { conversation: conversationId, status: MessageStatus.STREAMING, ...fromKey(from) });
    await Promise.all(running.map((m) => this.runner.stop(m.id, 'delete')));
  }
}
