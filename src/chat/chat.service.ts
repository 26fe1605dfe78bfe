import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditService } from '../audit/audit.service';
import type { AuthInfo, RequestMeta } from '../graphql/context';
import { User } from '../auth/user.entity';
import { BadUserInputError, NotFoundError, RateLimitedError } from '../graphql/errors';
import type { CreateConversationInput, MessageView, SendMessageInput, SendMessagePayload } from './chat.types';
import { conversationChanges, titleFromMessage } from './conversation-update';
import type { UpdateConversationInput } from './conversation.types';
import { toView } from './message-view';
import { Conversation } from './conversation.entity';
import type { GenerationRunner } from './generation';
import { Message } from './message.entity';
import { AttachmentFile } from './attachment.entity';
import { MessageRole, MessageStatus } from './message-enums';
import { countStreaming, lockSender, streamingMessageIds } from './message-store';
import { ChatEventType, type ChatEvents } from './chat-events';
import { checkModelParameters, type ModelParameters } from './model-parameters';
import { checkClientMessageId, earlierSend, replyPayload } from './reply-payload';
import { estimatePromptTokens, type ChatTurn } from './providers/provider';
import { attachmentsForModel, preparePdfText } from './attachments-to-model';
import { reserveTokens, type TokenGrant } from './token-ledger';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_CONTENT = 32_000;

/** A message's text as stored: trimmed, 1 to MAX_CONTENT characters, else BAD_USER_INPUT. */
export function checkContent(raw: string): string {
  const content = raw.trim();
  if (content.length === 0 || content.length > MAX_CONTENT)
    throw new BadUserInputError(`Message content must be 1 to ${MAX_CONTENT} characters`, { field: 'content' });
  return content;
}

/** What sendMessage stored: the user message, the attachments it took, and the reply to start. */
interface StoredSend {
  user: Message;
  attached: AttachmentFile[];
  reply: OpenedReply;
}

/** A reply stored (STREAMING) but not started yet: the message, the history it answers and its tokens. */
export interface OpenedReply {
  assistant: Message;
  turns: ChatTurn[];
  grant: TokenGrant;
  /** The caller's checked model parameters (temperature and topP go upstream; maxOutputTokens is in the grant). */
  parameters: ModelParameters;
}

/** An OpenAI-compatible request's reply: its own messages are the prompt (not the stored history), for its model. */
export interface PromptOverride {
  prompt: ChatTurn[];
  model: string;
}

/** Conversations, messages and replies; every lookup is scoped to the caller (others' ids are NOT_FOUND). */
export class ChatService {
  constructor(
    private readonly config: Config,
    private readonly audit: AuditService,
    private readonly runner: GenerationRunner,
    private readonly events: ChatEvents,
  ) {}

  /** The caller's conversation with this id; NOT_FOUND for anyone else's or a malformed id. */
  async ownedConversation(em: EntityManager, auth: AuthInfo, id: string): Promise<Conversation> {
    const c = UUID.test(id) ? await em.findOne(Conversation, { id, owner: auth.userId }) : null;
    if (!c) throw new NotFoundError('Conversation');
    return c;
  }

  /** The caller's message with this id (its conversation loaded); NOT_FOUND for anyone else's or a malformed id. */
  async ownedMessage(em: EntityManager, auth: AuthInfo, id: string): Promise<Message> {
    const m = UUID.test(id) ? await em.findOne(Message, { id, conversation: { owner: auth.userId } }, { populate: ['conversation'] }) : null;
    if (!m) throw new NotFoundError('Message');
    return m;
  }

  /** Creates a conversation for the caller with a known model (audited). */
  async createConversation(em: EntityManager, auth: AuthInfo, input: CreateConversationInput, meta: RequestMeta): Promise<Conversation> {
    const model = input.model ?? this.config.ai.models[0];
    if (!this.config.ai.models.includes(model))
      throw new BadUserInputError(`Unknown model; choose one of: ${this.config.ai.models.join(', ')}`, { field: 'model' });
    const title = input.title?.trim() || null;
    const created = await em.transactional(async (tx) => {
      const c = tx.create(Conversation, { owner: tx.getReference(User, auth.userId), title, model, systemPrompt: input.systemPrompt?.trim() || null });
      await tx.flush();
      await this.audit.record(tx, {
        action: 'chat.conversation.create',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'conversation',
        resourceId: c.id,
      });
      return c;
    });
    this.events.publish(auth.userId, ChatEventType.CONVERSATION_CREATED, { conversationId: created.id });
    return created;
  }

  /**
   * Changes the caller's conversation (title, model, system prompt, archived; only the fields
   * given) and audits the names of the fields that changed, never their text.
   */
  async updateConversation(em: EntityManager, auth: AuthInfo, id: string, input: UpdateConversationInput, meta: RequestMeta): Promise<Conversation> {
    const { c, changed } = await em.transactional(async (tx) => {
      const c = await this.ownedConversation(tx, auth, id);
      const changed = conversationChanges(c, input, this.config.ai.models);
      if (changed.length === 0) return { c, changed };
      c.updatedAt = new Date();
      await tx.flush();
      await this.audit.record(tx, {
        action: 'chat.conversation.update',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'conversation',
        resourceId: c.id,
        metadata: { fields: changed },
      });
      return { c, changed };
    });
    if (changed.length === 0) return c;
    this.conversationUpdated(auth.userId, c);
    return c;
  }

  /** Called once a change to a conversation is committed (updateConversation): tells the owner's devices (`chatEvents`). */
  conversationUpdated(userId: string, conversation: Conversation): void {
    this.events.publish(userId, ChatEventType.CONVERSATION_UPDATED, { conversationId: conversation.id });
  }

  /** Stops the conversation's live replies, then deletes it with its messages (audited). */
  async deleteConversation(em: EntityManager, auth: AuthInfo, id: string, meta: RequestMeta): Promise<boolean> {
    const c = await this.ownedConversation(em, auth, id);
    await Promise.all((await streamingMessageIds(em, { conversationId: c.id })).map((id) => this.runner.stop(id, 'delete')));
    await em.transactional(async (tx) => {
      await tx.nativeDelete(Conversation, { id: c.id });
      await this.audit.record(tx, {
        action: 'chat.conversation.delete',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'conversation',
        resourceId: c.id,
      });
    });
    this.events.publish(auth.userId, ChatEventType.CONVERSATION_DELETED, { conversationId: c.id });
    return true;
  }

  /**
   * The history sent to the model: system prompt first, then the newest messages (user turns
   * with their attachments, see attachments-to-model) that fit AI_MAX_CONTEXT_CHARS.
   */
  private async history(em: EntityManager, c: Conversation): Promise<ChatTurn[]> {
    const messages = await em.find(
      Message,
      { conversation: c.id, role: { $ne: MessageRole.SYSTEM } },
      { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], limit: 200 },
    );
    const shown = messages.filter((m) => !(m.role === MessageRole.ASSISTANT && (m.status === MessageStatus.STREAMING || m.content === '')));
    const files = await attachmentsForModel(
      em,
      this.config,
      c.model,
      shown.filter((m) => m.role === MessageRole.USER).map((m) => m.id),
    );
    const turns: ChatTurn[] = [];
    let budget = this.config.ai.maxContextChars - (c.systemPrompt?.length ?? 0);
    for (const m of shown) {
      const attachments = files.get(m.id);
      const size = m.content.length + (attachments ?? []).reduce((n, a) => n + (a.type === 'text' ? a.text.length : 0), 0);
      if (turns.length > 0 && size > budget) break; // the newest user message always goes
      budget -= size;
      turns.unshift({ role: m.role === MessageRole.USER ? 'user' : 'assistant', content: m.content, ...(attachments && { attachments }) });
    }
    if (c.systemPrompt) turns.unshift({ role: 'system', content: c.systemPrompt });
    return turns;
  }

  /**
   * Inside `tx`, under the per-user lock: checks the concurrent-stream limit, stores an empty
   * STREAMING reply at `at` (the conversation's new `updatedAt`), reads the history the model
   * gets and reserves the reply's tokens. The caller commits, then `launch`es it.
   */
  async openReply(
    tx: EntityManager,
    auth: AuthInfo,
    c: Conversation,
    at: number,
    parameters: ModelParameters = {},
    override?: PromptOverride,
  ): Promise<OpenedReply> {
    if ((await countStreaming(tx, auth.userId)) >= this.config.chat.maxConcurrentStreams) {
      throw new RateLimitedError(
        1,
        `At most ${this.config.chat.maxConcurrentStreams} replies may stream at once; wait for one to finish`,
        'CONCURRENT_STREAMS',
      );
    }
    const assistant = tx.create(Message, {
      conversation: c,
      role: MessageRole.ASSISTANT,
      content: '',
      status: MessageStatus.STREAMING,
      model: override?.model ?? c.model,
      createdAt: new Date(at),
      instanceId: this.runner.instanceId,
      heartbeatAt: new Date(at),
      parameters: Object.keys(parameters).length > 0 ? parameters : null,
    });
    c.updatedAt = new Date(at);
    await tx.flush();
    const turns = override?.prompt ?? (await this.history(tx, c));
    const grant = await reserveTokens(tx, this.config, auth.userId, estimatePromptTokens(turns), parameters.maxOutputTokens);
    return { assistant, turns, grant, parameters };
  }

  /** Starts generating a reply `openReply` stored, once its transaction committed; announces it. */
  launch(auth: AuthInfo, c: Conversation, reply: OpenedReply): void {
    // Announced before it starts, so MESSAGE_CREATED always precedes its MESSAGE_FINISHED.
    this.events.publish(auth.userId, ChatEventType.MESSAGE_CREATED, { conversationId: c.id, messageId: reply.assistant.id });
    this.runner.start({
      messageId: reply.assistant.id,
      userId: auth.userId,
      conversationId: c.id,
      model: reply.assistant.model ?? c.model,
      turns: reply.turns,
      ...reply.grant,
      temperature: reply.parameters.temperature ?? undefined,
      topP: reply.parameters.topP ?? undefined,
    });
  }

  /**
   * Stores the caller's message and an empty STREAMING reply (streams and token quota permitting,
   * audited) and starts generating it. With a `clientMessageId` the caller used before, returns
   * that send's payload and starts nothing (a safe retry).
   */
  async sendMessage(em: EntityManager, auth: AuthInfo, input: SendMessageInput, meta: RequestMeta, override?: PromptOverride): Promise<SendMessagePayload> {
    const content = checkContent(input.content);
    const clientMessageId = checkClientMessageId(input.clientMessageId);
    const c = await this.ownedConversation(em, auth, input.conversationId);
    const attachmentIds = [...new Set(input.attachmentIds ?? [])];
    if (attachmentIds.length > 10) throw new BadUserInputError('At most 10 attachments per message', { field: 'attachmentIds' });
    const parameters = checkModelParameters(input.parameters);
    // Before the transaction: reading a PDF may take seconds, and must not hold the sender's lock.
    await preparePdfText(
      em,
      auth.userId,
      attachmentIds.filter((id) => UUID.test(id)),
    );
    const expected = { conversationId: c.id, content };
    let sent: StoredSend | { earlier: SendMessagePayload };
    try {
      sent = await em.transactional(async (tx) => {
        await lockSender(tx, auth.userId); // one sender at a time per user
        const earlier = clientMessageId ? await earlierSend(tx, auth.userId, clientMessageId, expected) : undefined;
        return earlier ? { earlier } : this.storeSend(tx, auth, c, { content, clientMessageId, attachmentIds, parameters, override }, meta);
      });
    } catch (err) {
      // The unique (sender, clientMessageId) index caught a retry that raced past the lock (another writer).
      if (!(err instanceof UniqueConstraintViolationException) || !clientMessageId) throw err;
      const earlier = await earlierSend(em.fork(), auth.userId, clientMessageId, expected);
      if (!earlier) throw err;
      return earlier;
    }
    if ('earlier' in sent) return sent.earlier;
    this.events.publish(auth.userId, ChatEventType.MESSAGE_CREATED, { conversationId: c.id, messageId: sent.user.id });
    this.launch(auth, c, sent.reply);
    return replyPayload(sent.user, sent.attached, sent.reply.assistant, c);
  }

  /** sendMessage's writes inside its transaction: the user message, its attachments, the title, the reply and the audit event. */
  private async storeSend(
    tx: EntityManager,
    auth: AuthInfo,
    c: Conversation,
    msg: { content: string; clientMessageId: string | null; attachmentIds: string[]; parameters: ModelParameters; override?: PromptOverride },
    meta: RequestMeta,
  ): Promise<StoredSend> {
    const now = Date.now();
    const userMsg = tx.create(Message, {
      conversation: c,
      role: MessageRole.USER,
      content: msg.content,
      status: MessageStatus.COMPLETE,
      createdAt: new Date(now),
      sender: tx.getReference(User, auth.userId),
      clientMessageId: msg.clientMessageId,
    });
    let attached: AttachmentFile[] = [];
    if (msg.attachmentIds.length) {
      // The caller's own uploads, not yet attached anywhere; anything else is NOT_FOUND.
      attached = msg.attachmentIds.every((id) => UUID.test(id))
        ? await tx.find(AttachmentFile, { id: { $in: msg.attachmentIds }, owner: auth.userId, message: null, complete: true })
        : [];
      if (attached.length !== msg.attachmentIds.length) throw new NotFoundError('Attachment');
      for (const a of attached) a.message = userMsg;
    }
    if (!c.title) c.title = titleFromMessage(msg.content);
    const reply = await this.openReply(tx, auth, c, now + 1, msg.parameters, msg.override);
    await this.audit.record(tx, {
      action: 'chat.message.create',
      outcome: AuditOutcome.SUCCESS,
      ...this.audit.forRequest(auth, meta),
      resourceType: 'message',
      resourceId: userMsg.id,
      metadata: { conversationId: c.id, assistantMessageId: reply.assistant.id },
    });
    return { user: userMsg, attached, reply };
  }

  /** Stops a streaming reply (on whichever instance runs it), keeping its text, and returns it CANCELLED. */
  async cancelGeneration(em: EntityManager, auth: AuthInfo, messageId: string, meta: RequestMeta): Promise<MessageView> {
    const m = await this.ownedMessage(em, auth, messageId);
    if (m.role !== MessageRole.ASSISTANT) throw new BadUserInputError('Only an assistant reply can be cancelled', { field: 'messageId' });
    if (m.status === MessageStatus.STREAMING) {
      await this.runner.stop(messageId, 'cancel');
      await this.audit.record(em, {
        action: 'chat.generation.cancel',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'message',
        resourceId: messageId,
      });
    }
    const fresh = await em.fork().findOneOrFail(Message, { id: messageId }, { populate: ['conversation'] });
    return toView(fresh);
  }
}
