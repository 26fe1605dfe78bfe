import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditService } from '../audit/audit.service';
import type { AuthInfo, RequestMeta } from '../graphql/context';
import { User } from '../auth/user.entity';
import { BadUserInputError, NotFoundError, RateLimitedError } from '../graphql/errors';
import type { CreateConversationInput, MessageView, SendMessageInput, SendMessagePayload } from './chat.types';
import { conversationChanges, titleFromMessage } from './conversation-update';
import type { UpdateConversationInput } from './conversation.types';
import { Conversation } from './conversation.entity';
import type { GenerationJob, GenerationRunner } from './generation';
import { Message } from './message.entity';
import { AttachmentFile } from './attachment.entity';
import { MessageRole, MessageStatus } from './message-enums';
import { countStreaming, streamingMessageIds } from './message-store';
import { estimateTokens, type ChatTurn } from './providers/provider';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_CONTENT = 32_000;

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
    attachments: attachments.map((a) => ({ id: a.id, filename: a.filename, mimeType: a.mimeType, size: a.size })),
    createdAt: m.createdAt,
  };
}

/** Ledger rows are only read for today; older days are kept this long (a month of history), then removed. */
const LEDGER_KEEP_DAYS = 35;

/** Removes token-ledger days older than LEDGER_KEEP_DAYS, so the table stays bounded; returns how many. */
export async function pruneTokenLedger(em: EntityManager): Promise<number> {
  const rows = await em
    .getConnection()
    .execute<{ n: string }[]>(
      `with d as (delete from token_usage where day < (now() at time zone 'utc')::date - ?::int returning 1) select count(*) as n from d`,
      [LEDGER_KEEP_DAYS],
    );
  return Number(rows[0].n);
}

/** One reply's share of the daily ledger (see GenerationJob). */
type TokenGrant = Pick<GenerationJob, 'usageDay' | 'reservedTokens' | 'maxTokens' | 'quotaBudget'>;

/** Conversations, messages and replies; every lookup is scoped to the caller (others' ids are NOT_FOUND). */
export class ChatService {
  constructor(
    private readonly config: Config,
    private readonly audit: AuditService,
    private readonly runner: GenerationRunner,
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
    return em.transactional(async (tx) => {
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

  /**
   * Called once a change to a conversation is committed (updateConversation). The hook for
   * `chatEvents`: publish CONVERSATION_UPDATED to the owner's devices here.
   */
  conversationUpdated(_userId: string, _conversation: Conversation): void {}

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
    return true;
  }

  /**
   * Reserves today's tokens for one reply in the ledger (inside the sender's transaction, under
   * the per-user lock, so concurrent replies each see what the others reserved): the prompt
   * plus `maxTokens`, which is what is left of the quota after the prompt, capped by
   * AI_MAX_OUTPUT_TOKENS. The runner settles the reservation with the real usage at the end.
   */
  private async reserveTokens(tx: EntityManager, userId: string, promptTokens: number): Promise<TokenGrant> {
    const conn = tx.getConnection();
    const ctx: unknown = tx.getTransactionContext();
    const [row] = await conn.execute<{ day: string; reserved: number; used: number }[]>(
      `insert into token_usage (user_id, day, reserved, used) values (?, (now() at time zone 'utc')::date, 0, 0)
       on conflict (user_id, day) do update set reserved = token_usage.reserved returning day::text as day, reserved, used`,
      [userId],
      'all',
      ctx,
    );
    const quota = this.config.chat.dailyTokenQuota;
    const remaining = quota === undefined ? Infinity : quota - row.used - row.reserved;
    if (remaining <= 0) {
      const midnight = new Date();
      midnight.setUTCHours(24, 0, 0, 0);
      // Reservations of replies under way come back when they finish; used tokens only at midnight UTC.
      if (quota !== undefined && row.used < quota)
        throw new RateLimitedError(5, 'Daily token quota is reserved by replies under way; try again when they finish');
      throw new RateLimitedError((midnight.getTime() - Date.now()) / 1000, 'Daily token quota exceeded');
    }
    const maxTokens = Math.min(this.config.ai.maxOutputTokens, Math.max(1, remaining - promptTokens));
    const reservedTokens = promptTokens + maxTokens;
    await conn.execute('update token_usage set reserved = reserved + ? where user_id = ? and day = ?::date', [reservedTokens, userId, row.day], 'all', ctx);
    return { usageDay: row.day, reservedTokens, maxTokens, quotaBudget: quota === undefined ? undefined : reservedTokens };
  }

  /** The history sent to the model: system prompt first, then the newest messages that fit. */
  private async history(em: EntityManager, c: Conversation): Promise<ChatTurn[]> {
    const messages = await em.find(
      Message,
      { conversation: c.id, role: { $ne: MessageRole.SYSTEM } },
      { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], limit: 200 },
    );
    const turns: ChatTurn[] = [];
    let budget = this.config.ai.maxContextChars - (c.systemPrompt?.length ?? 0);
    for (const m of messages) {
      if (m.role === MessageRole.ASSISTANT && (m.status === MessageStatus.STREAMING || m.content === '')) continue;
      if (turns.length > 0 && m.content.length > budget) break; // the newest user message always goes
      budget -= m.content.length;
      turns.unshift({ role: m.role === MessageRole.USER ? 'user' : 'assistant', content: m.content });
    }
    if (c.systemPrompt) turns.unshift({ role: 'system', content: c.systemPrompt });
    return turns;
  }

  /** Stores the caller's message and an empty STREAMING reply (streams and token quota permitting, audited) and starts generating it. */
  async sendMessage(em: EntityManager, auth: AuthInfo, input: SendMessageInput, meta: RequestMeta): Promise<SendMessagePayload> {
    const content = input.content.trim();
    if (content.length === 0 || content.length > MAX_CONTENT)
      throw new BadUserInputError(`Message content must be 1 to ${MAX_CONTENT} characters`, { field: 'content' });
    const c = await this.ownedConversation(em, auth, input.conversationId);
    const attachmentIds = [...new Set(input.attachmentIds ?? [])];
    if (attachmentIds.length > 10) throw new BadUserInputError('At most 10 attachments per message', { field: 'attachmentIds' });
    let attached: AttachmentFile[] = [];
    const { user, assistant, turns, grant } = await em.transactional(async (tx) => {
      const conn = tx.getConnection();
      const ctx: unknown = tx.getTransactionContext();
      await conn.execute('select id from "user" where id = ? for update', [auth.userId], 'all', ctx); // one sender at a time per user
      if ((await countStreaming(tx, auth.userId)) >= this.config.chat.maxConcurrentStreams) {
        throw new RateLimitedError(1, `At most ${this.config.chat.maxConcurrentStreams} replies may stream at once; wait for one to finish`);
      }
      const now = Date.now();
      const userMsg = tx.create(Message, { conversation: c, role: MessageRole.USER, content, status: MessageStatus.COMPLETE, createdAt: new Date(now) });
      const assistantMsg = tx.create(Message, {
        conversation: c,
        role: MessageRole.ASSISTANT,
        content: '',
        status: MessageStatus.STREAMING,
        model: c.model,
        createdAt: new Date(now + 1),
        instanceId: this.runner.instanceId,
        heartbeatAt: new Date(now),
      });
      if (attachmentIds.length) {
        // The caller's own uploads, not yet attached anywhere; anything else is NOT_FOUND.
        attached = attachmentIds.every((id) => UUID.test(id))
          ? await tx.find(AttachmentFile, { id: { $in: attachmentIds }, owner: auth.userId, message: null, complete: true })
          : [];
        if (attached.length !== attachmentIds.length) throw new NotFoundError('Attachment');
        for (const a of attached) a.message = userMsg;
      }
      c.updatedAt = new Date(now);
      if (!c.title) c.title = titleFromMessage(content);
      await tx.flush();
      const turns = await this.history(tx, c);
      const grant = await this.reserveTokens(tx, auth.userId, estimateTokens(turns.map((t) => t.content).join('\n')));
      await this.audit.record(tx, {
        action: 'chat.message.create',
        outcome: AuditOutcome.SUCCESS,
        ...this.audit.forRequest(auth, meta),
        resourceType: 'message',
        resourceId: userMsg.id,
        metadata: { conversationId: c.id, assistantMessageId: assistantMsg.id },
      });
      return { user: userMsg, assistant: assistantMsg, turns, grant };
    });
    this.runner.start({ messageId: assistant.id, userId: auth.userId, model: c.model, turns, ...grant });
    return { userMessage: toView(user, attached), assistantMessage: toView(assistant) };
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
