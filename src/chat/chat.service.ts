import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditService } from '../audit/audit.service';
import type { AuthInfo, RequestMeta } from '../graphql/context';
import { User } from '../auth/user.entity';
import { BadUserInputError, NotFoundError, RateLimitedError } from '../graphql/errors';
import { cursorTime, pageSize } from '../graphql/pagination';
import type { PubSub } from '../pubsub/topics';
import type { ConversationConnection, CreateConversationInput, MessageConnection, MessageView, SendMessageInput, SendMessagePayload } from './chat.types';
import { Conversation } from './conversation.entity';
import type { GenerationJob, GenerationRunner } from './generation';
import { Message } from './message.entity';
import { AttachmentFile } from './attachment.entity';
import { MessageRole, MessageStatus } from './message-enums';
import { estimateTokens, type ChatTurn } from './providers/provider';
import { mergeDeltas } from './stream';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TITLE_FROM_MESSAGE = 60;
const MAX_CONTENT = 32_000;
const CANCEL_WAIT_MS = 5000;

/** An opaque cursor over (createdAt, id). */
export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString('base64url');
}

/** Reads a cursor from encodeCursor; anything else is BAD_USER_INPUT. */
export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const [iso, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    // Range-checked: a date PostgreSQL cannot hold (year -271821) would fail in the database instead.
    const createdAt = cursorTime(iso);
    if (!createdAt || typeof id !== 'string' || !UUID.test(id)) throw new Error('bad');
    return { createdAt, id };
  } catch {
    throw new BadUserInputError('Invalid cursor', { field: 'after' });
  }
}

/**
 * One page over (createdAt, id) in `direction`, read as `first + 1` rows so `hasNextPage`
 * needs no count; `after` is the cursor of the previous page's last row.
 */
async function keysetPage<T extends Conversation | Message, N>(
  em: EntityManager,
  entity: new () => T,
  scope: Record<string, unknown>,
  direction: 'asc' | 'desc',
  first: number | null | undefined,
  after: string | null | undefined,
  toNode: (row: T) => N,
): Promise<{ edges: { node: N; cursor: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }> {
  const size = pageSize(first);
  const where: Record<string, unknown> = { ...scope };
  if (after) {
    const c = decodeCursor(after);
    const beyond = direction === 'asc' ? '$gt' : '$lt';
    where.$or = [{ createdAt: { [beyond]: c.createdAt } }, { createdAt: c.createdAt, id: { [beyond]: c.id } }];
  }
  const rows = (await em.find(entity as never, where as never, { orderBy: [{ createdAt: direction }, { id: direction }] as never, limit: size + 1 })) as T[];
  const page = rows.slice(0, size);
  const last = page[page.length - 1];
  return {
    edges: page.map((row) => ({ node: toNode(row), cursor: encodeCursor(row.createdAt, row.id) })),
    pageInfo: { hasNextPage: rows.length > size, endCursor: last ? encodeCursor(last.createdAt, last.id) : null },
  };
}

/** A message as the API shows it (with its attachments, when loaded). */
export function toView(m: Message, attachments: AttachmentFile[] = []): MessageView {
  const usage = m.promptTokens !== null && m.promptTokens !== undefined && m.completionTokens !== null && m.completionTokens !== undefined ? { promptTokens: m.promptTokens, completionTokens: m.completionTokens } : null;
  return { id: m.id, conversationId: m.conversation.id, role: m.role, content: m.content, status: m.status, model: m.model ?? null, usage, error: m.error ?? null, attachments: attachments.map((a) => ({ id: a.id, filename: a.filename, mimeType: a.mimeType, size: a.size })), createdAt: m.createdAt };
}

/** Ledger rows are only read for today; older days are kept this long (a month of history), then removed. */
const LEDGER_KEEP_DAYS = 35;

/** Removes token-ledger days older than LEDGER_KEEP_DAYS, so the table stays bounded; returns how many. */
export async function pruneTokenLedger(em: EntityManager): Promise<number> {
  const rows = await em.getConnection().execute<{ n: string }[]>(
    `with d as (delete from token_usage where day < (now() at time zone 'utc')::date - ?::int returning 1) select count(*) as n from d`, [LEDGER_KEEP_DAYS]);
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
    private readonly pubsub: PubSub,
  ) {}

  async ownedConversation(em: EntityManager, auth: AuthInfo, id: string): Promise<Conversation> {
    const c = UUID.test(id) ? await em.findOne(Conversation, { id, owner: auth.userId }) : null;
    if (!c) throw new NotFoundError('Conversation');
    return c;
  }

  async ownedMessage(em: EntityManager, auth: AuthInfo, id: string): Promise<Message> {
    const m = UUID.test(id) ? await em.findOne(Message, { id, conversation: { owner: auth.userId } }, { populate: ['conversation'] }) : null;
    if (!m) throw new NotFoundError('Message');
    return m;
  }

  async createConversation(em: EntityManager, auth: AuthInfo, input: CreateConversationInput, meta: RequestMeta): Promise<Conversation> {
    const model = input.model ?? this.config.ai.models[0];
    if (!this.config.ai.models.includes(model)) throw new BadUserInputError(`Unknown model; choose one of: ${this.config.ai.models.join(', ')}`, { field: 'model' });
    const title = input.title?.trim() || null;
    return em.transactional(async (tx) => {
      const c = tx.create(Conversation, { owner: tx.getReference(User, auth.userId), title, model, systemPrompt: input.systemPrompt?.trim() || null });
      await tx.flush();
      await this.audit.record(tx, { action: 'chat.conversation.create', outcome: AuditOutcome.SUCCESS, actorId: auth.userId, actorRole: auth.role, resourceType: 'conversation', resourceId: c.id, ip: meta.ip, requestId: meta.requestId });
      return c;
    });
  }

  async listConversations(em: EntityManager, auth: AuthInfo, first?: number | null, after?: string | null): Promise<ConversationConnection> {
    return keysetPage(em, Conversation, { owner: auth.userId }, 'desc', first, after, (c) => c);
  }

  async listMessages(em: EntityManager, conversation: Conversation, first?: number | null, after?: string | null): Promise<MessageConnection> {
    const page = await keysetPage(em, Message, { conversation: conversation.id }, 'asc', first, after, (m) => m);
    const ids = page.edges.map((e) => e.node.id);
    const files = ids.length ? await em.find(AttachmentFile, { message: { $in: ids } }, { orderBy: { createdAt: 'asc' } }) : [];
    return { ...page, edges: page.edges.map((e) => ({ ...e, node: toView(e.node, files.filter((f) => f.message?.id === e.node.id)) })) };
  }

  /** Stops a generation wherever it runs (this instance directly, others through pub/sub). */
  private stopEverywhere(messageId: string, reason: 'cancel' | 'delete'): void {
    if (!this.runner.stopLocal(messageId, reason)) this.pubsub.publish('generation:cancel', { messageId, reason });
  }

  async deleteConversation(em: EntityManager, auth: AuthInfo, id: string, meta: RequestMeta): Promise<boolean> {
    const c = await this.ownedConversation(em, auth, id);
    const live = await em.find(Message, { conversation: c.id, status: MessageStatus.STREAMING });
    for (const m of live) this.stopEverywhere(m.id, 'delete');
    await em.transactional(async (tx) => {
      await tx.nativeDelete(Conversation, { id: c.id });
      await this.audit.record(tx, { action: 'chat.conversation.delete', outcome: AuditOutcome.SUCCESS, actorId: auth.userId, actorRole: auth.role, resourceType: 'conversation', resourceId: c.id, ip: meta.ip, requestId: meta.requestId });
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
    const ctx = tx.getTransactionContext();
    const [row] = await conn.execute<{ day: string; reserved: number; used: number }[]>(
      `insert into token_usage (user_id, day, reserved, used) values (?, (now() at time zone 'utc')::date, 0, 0)
       on conflict (user_id, day) do update set reserved = token_usage.reserved returning day::text as day, reserved, used`, [userId], 'all', ctx);
    const quota = this.config.chat.dailyTokenQuota;
    const remaining = quota === undefined ? Infinity : quota - row.used - row.reserved;
    if (remaining <= 0) {
      const midnight = new Date();
      midnight.setUTCHours(24, 0, 0, 0);
      // Reservations of replies under way come back when they finish; used tokens only at midnight UTC.
      if (quota !== undefined && row.used < quota) throw new RateLimitedError(5, 'Daily token quota is reserved by replies under way; try again when they finish');
      throw new RateLimitedError((midnight.getTime() - Date.now()) / 1000, 'Daily token quota exceeded');
    }
    const maxTokens = Math.min(this.config.ai.maxOutputTokens, Math.max(1, remaining - promptTokens));
    const reservedTokens = promptTokens + maxTokens;
    await conn.execute('update token_usage set reserved = reserved + ? where user_id = ? and day = ?::date', [reservedTokens, userId, row.day], 'all', ctx);
    return { usageDay: row.day, reservedTokens, maxTokens, quotaBudget: quota === undefined ? undefined : reservedTokens };
  }

  /** The history sent to the model: system prompt first, then the newest messages that fit. */
  private async history(em: EntityManager, c: Conversation): Promise<ChatTurn[]> {
    const messages = await em.find(Message, { conversation: c.id, role: { $ne: MessageRole.SYSTEM } }, { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], limit: 200 });
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

  async sendMessage(em: EntityManager, auth: AuthInfo, input: SendMessageInput, meta: RequestMeta): Promise<SendMessagePayload> {
    const content = input.content.trim();
    if (content.length === 0 || content.length > MAX_CONTENT) throw new BadUserInputError(`Message content must be 1 to ${MAX_CONTENT} characters`, { field: 'content' });
    const c = await this.ownedConversation(em, auth, input.conversationId);
    const attachmentIds = [...new Set(input.attachmentIds ?? [])];
    if (attachmentIds.length > 10) throw new BadUserInputError('At most 10 attachments per message', { field: 'attachmentIds' });
    let attached: AttachmentFile[] = [];
    const { user, assistant, turns, grant } = await em.transactional(async (tx) => {
      const conn = tx.getConnection();
      const ctx = tx.getTransactionContext();
      await conn.execute('select id from "user" where id = ? for update', [auth.userId], 'all', ctx); // one sender at a time per user
      const [{ streaming }] = await conn.execute<{ streaming: string }[]>(
        `select count(*) as streaming from message m join conversation c on c.id = m.conversation_id where c.owner_id = ? and m.status = 'STREAMING'`, [auth.userId], 'all', ctx);
      if (Number(streaming) >= this.config.chat.maxConcurrentStreams) {
        throw new RateLimitedError(1, `At most ${this.config.chat.maxConcurrentStreams} replies may stream at once; wait for one to finish`);
      }
      const now = Date.now();
      const userMsg = tx.create(Message, { conversation: c, role: MessageRole.USER, content, status: MessageStatus.COMPLETE, createdAt: new Date(now) });
      const assistantMsg = tx.create(Message, {
        conversation: c, role: MessageRole.ASSISTANT, content: '', status: MessageStatus.STREAMING, model: c.model,
        createdAt: new Date(now + 1), instanceId: this.runner.instanceId, heartbeatAt: new Date(now),
      });
      if (attachmentIds.length) {
        // The caller's own uploads, not yet attached anywhere; anything else is NOT_FOUND.
        attached = attachmentIds.every((id) => UUID.test(id)) ? await tx.find(AttachmentFile, { id: { $in: attachmentIds }, owner: auth.userId, message: null, complete: true }) : [];
        if (attached.length !== attachmentIds.length) throw new NotFoundError('Attachment');
        for (const a of attached) a.message = userMsg;
      }
      c.updatedAt = new Date(now);
      if (!c.title) c.title = content.replace(/\s+/g, ' ').slice(0, TITLE_FROM_MESSAGE).trim();
      await tx.flush();
      const turns = await this.history(tx, c);
      const grant = await this.reserveTokens(tx, auth.userId, estimateTokens(turns.map((t) => t.content).join('\n')));
      await this.audit.record(tx, {
        action: 'chat.message.create', outcome: AuditOutcome.SUCCESS, actorId: auth.userId, actorRole: auth.role, resourceType: 'message', resourceId: userMsg.id,
        ip: meta.ip, requestId: meta.requestId, metadata: { conversationId: c.id, assistantMessageId: assistantMsg.id },
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
      const done = this.waitForDone(em, messageId);
      this.stopEverywhere(messageId, 'cancel');
      if (!(await done)) {
        // Nobody answered: the generating process is gone. Settle it here.
        await em.getConnection().execute(`update message set status = 'CANCELLED', instance_id = null, heartbeat_at = null where id = ? and status = 'STREAMING'`, [messageId]);
      }
      await this.audit.record(em, { action: 'chat.generation.cancel', outcome: AuditOutcome.SUCCESS, actorId: auth.userId, actorRole: auth.role, resourceType: 'message', resourceId: messageId, ip: meta.ip, requestId: meta.requestId });
    }
    const fresh = await em.fork().findOneOrFail(Message, { id: messageId }, { populate: ['conversation'] });
    return toView(fresh);
  }

  /** Resolves true once the message is final (its last event, or the database says so); false after CANCEL_WAIT_MS. */
  private waitForDone(em: EntityManager, messageId: string): Promise<boolean> {
    const it = this.pubsub.subscribe('message:stream', messageId, { merge: mergeDeltas });
    return new Promise<boolean>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => finish(false), CANCEL_WAIT_MS);
      const poll = setInterval(() => {
        void em.fork().getConnection().execute<{ status: string }[]>('select status from message where id = ?', [messageId]).then((rows) => {
          if (!rows[0] || rows[0].status !== MessageStatus.STREAMING) finish(true);
        }, () => undefined);
      }, 250);
      const finish = (ok: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        void it.return?.();
        resolve(ok);
      };
      void (async () => {
        for (;;) {
          const r = await it.next();
          if (r.done) return finish(false);
          if (r.value.done) return finish(true);
        }
      })().catch(() => finish(false));
    });
  }
}

