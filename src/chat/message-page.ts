import { cipherOf } from '../crypto/cipher';
import type { Context } from '../graphql/context';
import { keysetPage, timeIdCursor, type Direction, type KeysetCondition, type TimeIdKey } from '../graphql/pagination';
import type { MessageConnection } from './chat.types';
import type { Conversation } from './conversation.entity';
import { toView, type AttachmentFields, type MessageFields } from './message-view';

/** What finds the database's cipher (any EntityManager of it). */
type Sealing = Parameters<typeof cipherOf>[0];

/** Runs a named prepared read (Context.preparedRead). */
type PreparedRead = Context['preparedRead'];

/** A keyset bound: rows strictly beyond (created_at, id) in `op`'s direction. */
interface Beyond {
  beyond: { createdAt: Date; id: string; op: '>' | '<' };
}

// Times as epoch milliseconds (the ORM's pg type parsers hand timestamps over as text); the
// cursor keeps milliseconds, as it did when the ORM read these rows.
const MESSAGE_COLUMNS = `id, conversation_id, role, content, status, model, prompt_tokens, completion_tokens, usage_estimated, error, error_code,
  finish_reason, client_message_id, extract(epoch from created_at) * 1000 as created_ms`;

interface MessageRow {
  id: string;
  conversation_id: string;
  role: MessageFields['role'];
  content: string;
  status: MessageFields['status'];
  model: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  usage_estimated: boolean | null;
  error: string | null;
  error_code: MessageFields['errorCode'];
  finish_reason: MessageFields['finishReason'];
  client_message_id: string | null;
  created_ms: string;
}

function fieldsOf(r: MessageRow): MessageFields {
  return {
    id: r.id,
    conversation: { id: r.conversation_id },
    role: r.role,
    content: r.content,
    status: r.status,
    model: r.model,
    promptTokens: r.prompt_tokens,
    completionTokens: r.completion_tokens,
    usageEstimated: r.usage_estimated,
    error: r.error,
    errorCode: r.error_code,
    finishReason: r.finish_reason,
    clientMessageId: r.client_message_id,
    createdAt: new Date(Number(r.created_ms)),
  };
}

/** The bounds keysetPage combined (one, or several under `$and`). */
function boundsOf(keyset: KeysetCondition | undefined): Beyond['beyond'][] {
  if (!keyset) return [];
  const parts = Array.isArray(keyset.$and) ? (keyset.$and as KeysetCondition[]) : [keyset];
  return parts.flatMap((p) => (p as Partial<Beyond>).beyond ?? []);
}

/**
 * Up to `limit` messages of one conversation beyond the bounds, in `direction`: one prepared
 * statement per shape (no bound, one, two), values always bound. The row comparison
 * `(created_at, id) > (…)` is the keyset condition the ORM wrote as an `or`, and walks the same index.
 */
async function fetchMessages(
  read: PreparedRead,
  em: Sealing,
  conversationId: string,
  keyset: KeysetCondition | undefined,
  limit: number,
  direction: Direction,
) {
  const bounds = boundsOf(keyset);
  const values: unknown[] = [conversationId];
  const where = bounds.map((b) => {
    values.push(b.createdAt, b.id);
    return `and (created_at, id) ${b.op === '>' ? '>' : '<'} ($${values.length - 1}, $${values.length})`;
  });
  values.push(limit);
  const dir = direction === 'asc' ? 'asc' : 'desc';
  const name = `chat.messages.${dir}.${bounds.map((b) => (b.op === '>' ? 'gt' : 'lt')).join('.')}`;
  const text = `select ${MESSAGE_COLUMNS} from message where conversation_id = $1 ${where.join(' ')} order by created_at ${dir}, id ${dir} limit $${values.length}`;
  const rows = await read<MessageRow>(name, text, values);
  const cipher = cipherOf(em);
  for (const r of rows) r.content = await cipher.openText('message.content', r.id, r.content);
  return rows.map(fieldsOf);
}

/** The attachments of these messages (one statement for all), oldest first, by message id. */
async function attachmentsOf(read: PreparedRead, em: Sealing, ids: string[]): Promise<Map<string, AttachmentFields[]>> {
  const byMessage = new Map<string, AttachmentFields[]>();
  if (ids.length === 0) return byMessage;
  const rows = await read<AttachmentFields & { message_id: string; mime_type: string }>(
    'chat.messages.attachments',
    'select id, message_id, filename, mime_type, size from attachment where message_id = any($1::uuid[]) order by created_at asc, id asc',
    [ids],
  );
  for (const r of rows) {
    const list = byMessage.get(r.message_id) ?? [];
    list.push({ id: r.id, filename: await cipherOf(em).openText('attachment.filename', r.id, r.filename), mimeType: r.mime_type, size: r.size });
    byMessage.set(r.message_id, list);
  }
  return byMessage;
}

/**
 * A page of a conversation's messages, oldest first: `first`/`after` forwards, `last`/`before`
 * back from the newest; read with prepared statements instead of entities (the hottest list).
 * The caller has checked that the conversation is theirs.
 */
export async function listMessages(
  read: PreparedRead,
  em: Sealing,
  conversation: Pick<Conversation, 'id'>,
  args: { first?: number | null; after?: string | null; last?: number | null; before?: string | null },
): Promise<MessageConnection> {
  const page = await keysetPage({
    first: args.first,
    after: args.after,
    last: args.last,
    before: args.before,
    order: 'asc',
    cursor: timeIdCursor,
    keyOf: (m: MessageFields): TimeIdKey => ({ createdAt: m.createdAt, id: m.id }),
    toNode: (m) => m,
    beyond: (key, direction): KeysetCondition => ({ beyond: { createdAt: key.createdAt, id: key.id, op: direction === 'asc' ? '>' : '<' } }),
    fetch: (keyset, limit, direction) => fetchMessages(read, em, conversation.id, keyset, limit, direction),
  });
  const files = await attachmentsOf(
    read,
    em,
    page.edges.map((e) => e.node.id),
  );
  return { ...page, edges: page.edges.map((e) => ({ ...e, node: toView(e.node, files.get(e.node.id)) })) };
}
