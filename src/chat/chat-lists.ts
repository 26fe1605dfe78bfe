import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthInfo } from '../graphql/context';
import { beyondTimeId, keysetPage, orderedTimeIdCursor, withKeyset, type Direction, type KeysetCondition } from '../graphql/pagination';
import { AttachmentFile } from './attachment.entity';
import type { ConversationConnection, MessageView } from './chat.types';
import { toView } from './message-view';
import { Conversation } from './conversation.entity';
import { ConversationOrder, MAX_TITLE_SEARCH, type ConversationFilter } from './conversation.types';
import { Message } from './message.entity';
import { BadUserInputError } from '../graphql/errors';

/** The column each conversation order sorts on (then id), and the cursor codec that carries it. */
const CONVERSATION_ORDERS = {
  [ConversationOrder.UPDATED_AT]: { field: 'updatedAt', cursor: orderedTimeIdCursor('u') },
  [ConversationOrder.CREATED_AT]: { field: 'createdAt', cursor: orderedTimeIdCursor('c') },
} as const;

/** Conversations read per step while a title filter scans (titles are sealed: the database cannot match them). */
const TITLE_SCAN_BATCH = 200;
/** At most this many conversations are opened per page of a title search (bounds one request's work). */
export const TITLE_SCAN_MAX = 5_000;

/** The `where` of a conversation filter, for the caller's conversations only (the title is matched after opening it). */
function conversationWhere(auth: AuthInfo, filter: ConversationFilter | null | undefined): Record<string, unknown> {
  const where: Record<string, unknown> = { owner: auth.userId };
  if (filter?.archived === true || filter?.archived === false) where.archived = filter.archived;
  return where;
}

/** The lower-cased text a title must contain, or undefined for no title filter. */
function titleNeedle(filter: ConversationFilter | null | undefined): string | undefined {
  const text = filter?.titleContains;
  if (text === null || text === undefined || text === '') return undefined;
  if (text.length > MAX_TITLE_SEARCH) throw new BadUserInputError(`titleContains is at most ${MAX_TITLE_SEARCH} characters`, { field: 'titleContains' });
  return text.toLowerCase();
}

/**
 * Up to `limit` of the caller's conversations beyond `keyset` whose title contains `needle`
 * (case-insensitive, literally): titles are sealed, so they are read in order, a batch at a
 * time on a fork of its own, opened and matched here. One page looks at no more than
 * TITLE_SCAN_MAX conversations past its cursor, so a caller with very many conversations cannot
 * make one request open them all.
 */
async function matchingTitles(
  em: EntityManager,
  where: Record<string, unknown>,
  needle: string,
  page: { keyset: KeysetCondition | undefined; limit: number; direction: Direction; field: 'updatedAt' | 'createdAt' },
): Promise<Conversation[]> {
  const scan = em.fork();
  const found: Conversation[] = [];
  for (let bound = page.keyset, scanned = 0; found.length < page.limit && scanned < TITLE_SCAN_MAX;) {
    const batch = await scan.find(Conversation, withKeyset(where, bound), {
      orderBy: [{ [page.field]: page.direction }, { id: page.direction }],
      limit: TITLE_SCAN_BATCH,
    });
    scanned += batch.length;
    found.push(...batch.filter((c) => (c.title ?? '').toLowerCase().includes(needle)));
    if (batch.length < TITLE_SCAN_BATCH) break;
    const last = batch[batch.length - 1];
    bound = beyondTimeId({ createdAt: last[page.field], id: last.id }, page.direction, page.field);
  }
  return found.slice(0, page.limit);
}

/**
 * The caller's conversations, newest first by `order` (UPDATED_AT: the one just used first),
 * narrowed by `filter`; cursors carry the order, so one issued under another order is refused.
 */
export function listConversations(
  em: EntityManager,
  auth: AuthInfo,
  args: { first?: number | null; after?: string | null; orderBy?: ConversationOrder | null; filter?: ConversationFilter | null },
): Promise<ConversationConnection> {
  const { field, cursor } = CONVERSATION_ORDERS[args.orderBy ?? ConversationOrder.UPDATED_AT];
  const where = conversationWhere(auth, args.filter);
  const needle = titleNeedle(args.filter);
  return keysetPage({
    first: args.first,
    after: args.after,
    order: 'desc',
    cursor,
    keyOf: (c: Conversation) => ({ createdAt: field === 'updatedAt' ? c.updatedAt : c.createdAt, id: c.id }),
    toNode: (c) => c,
    beyond: (key, direction) => beyondTimeId(key, direction, field),
    fetch: (keyset, limit, direction) =>
      needle === undefined
        ? em.find(Conversation, withKeyset(where, keyset), { orderBy: [{ [field]: direction }, { id: direction }], limit })
        : matchingTitles(em, where, needle, { keyset, limit, direction, field }),
  });
}

/** Messages as the API shows them, with their attachments (one query for all of them). */
async function withAttachments(em: EntityManager, messages: Message[]): Promise<MessageView[]> {
  const ids = messages.map((m) => m.id);
  const files = ids.length ? await em.find(AttachmentFile, { message: { $in: ids } }, { orderBy: { createdAt: 'asc' } }) : [];
  return messages.map((m) =>
    toView(
      m,
      files.filter((f) => f.message?.id === m.id),
    ),
  );
}

/**
 * The newest message of each conversation asked for while one operation resolves, read in one
 * query: loads made in the same turn of the event loop (a page of conversations) are batched.
 * One per operation; it holds at most the conversations that operation resolved.
 */
export class LastMessageLoader {
  private readonly loaded = new Map<string, Promise<MessageView | null>>();
  private pending: { id: string; resolve: (m: MessageView | null) => void; reject: (e: unknown) => void }[] = [];

  constructor(private readonly em: EntityManager) {}

  /** The newest message of conversation `id` (the caller checked ownership), or null when it has none. */
  load(id: string): Promise<MessageView | null> {
    let found = this.loaded.get(id);
    if (!found) {
      found = new Promise((resolve, reject) => {
        if (this.pending.length === 0) setImmediate(() => void this.dispatch());
        this.pending.push({ id, resolve, reject });
      });
      this.loaded.set(id, found);
    }
    return found;
  }

  private async dispatch(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      // DISTINCT ON walks the (conversation_id, created_at, id) index once per conversation.
      const ids = batch.map((b) => b.id);
      const rows = await this.em
        .getConnection()
        .execute<{ id: string }[]>(
          `select distinct on (conversation_id) id from message where conversation_id in (${ids.map(() => '?').join(', ')}) order by conversation_id, created_at desc, id desc`,
          ids,
        );
      const messages = rows.length ? await this.em.find(Message, { id: { $in: rows.map((r) => r.id) } }) : [];
      const views = await withAttachments(this.em, messages);
      const byConversation = new Map(views.map((v) => [v.conversationId, v]));
      for (const b of batch) b.resolve(byConversation.get(b.id) ?? null);
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }
}
