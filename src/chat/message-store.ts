import type { EntityManager } from '@mikro-orm/postgresql';
import { cipherOf } from '../crypto/cipher';
import type { TokenUsageData } from './providers/provider';
import { Message } from './message.entity';
import { MessageStatus } from './message-enums';
import type { ReplyOutcome } from './reply-outcome';

/** What the database holds of a message, for streaming it. */
export interface StoredMessage {
  content: string;
  status: MessageStatus;
  promptTokens: number | null;
  completionTokens: number | null;
  usageEstimated: boolean | null;
  error: string | null;
}

/** How a reply ends: its final text, token usage and outcome (status, error, code, finish reason). */
export interface FinishedReply extends ReplyOutcome {
  content: string;
  usage: TokenUsageData;
}

interface StoredRow {
  content: string;
  status: MessageStatus;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  usage_estimated: boolean | null;
  error: string | null;
}

/** A row as the API sees it: its content opened (sealed under the owner's data key, bound to the message id). */
async function storedOf(em: EntityManager, messageId: string, r: StoredRow): Promise<StoredMessage> {
  return {
    content: await cipherOf(em).openText('message.content', messageId, r.content),
    status: r.status,
    promptTokens: r.prompt_tokens,
    completionTokens: r.completion_tokens,
    usageEstimated: r.usage_estimated,
    error: r.error,
  };
}

/** The stored content, status, usage and error of a message; undefined when it does not exist (any more). */
export async function readStoredMessage(em: EntityManager, messageId: string): Promise<StoredMessage | undefined> {
  const rows = await em
    .getConnection()
    .execute<StoredRow[]>('select content, status, prompt_tokens, completion_tokens, usage_estimated, error from message where id = ?', [messageId]);
  return rows[0] && storedOf(em, messageId, rows[0]);
}

/** Message ids are UUIDs: anything else is no message (and must not reach PostgreSQL's uuid cast). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What is stored of `messageId` when it is an assistant reply in one of `userId`'s conversations, else undefined (one indexed read, no entity). */
export async function readOwnedReply(em: EntityManager, messageId: string, userId: string): Promise<StoredMessage | undefined> {
  if (!UUID.test(messageId)) return undefined;
  const rows = await em.getConnection().execute<StoredRow[]>(
    `select m.content, m.status, m.prompt_tokens, m.completion_tokens, m.usage_estimated, m.error
       from message m join conversation c on c.id = m.conversation_id where m.id = ? and c.owner_id = ? and m.role = 'ASSISTANT'`,
    [messageId, userId],
  );
  return rows[0] && storedOf(em, messageId, rows[0]);
}

/** A message's status; undefined when it does not exist (any more). */
export async function readMessageStatus(em: EntityManager, messageId: string): Promise<MessageStatus | undefined> {
  const rows = await em.getConnection().execute<{ status: MessageStatus }[]>('select status from message where id = ?', [messageId]);
  return rows[0]?.status;
}

/** Ids of the messages still streaming in one conversation, or in all of one owner's conversations. */
export async function streamingMessageIds(em: EntityManager, scope: { conversationId: string } | { ownerId: string }): Promise<string[]> {
  const conversation = 'conversationId' in scope ? scope.conversationId : { owner: scope.ownerId };
  const live = await em.find(Message, { conversation, status: MessageStatus.STREAMING });
  return live.map((m) => m.id);
}

/** Takes the per-user lock inside `tx`'s transaction: one reply starts at a time per user, on every instance. */
export async function lockSender(tx: EntityManager, userId: string): Promise<void> {
  await tx.getConnection().execute('select id from "user" where id = ? for update', [userId], 'all', tx.getTransactionContext());
}

/** How many of the user's replies are streaming, inside `tx`'s transaction (the caller holds the per-user lock). */
export async function countStreaming(tx: EntityManager, userId: string): Promise<number> {
  const [{ streaming }] = await tx
    .getConnection()
    .execute<{ streaming: string }[]>(
      `select count(*) as streaming from message m join conversation c on c.id = m.conversation_id where c.owner_id = ? and m.status = 'STREAMING'`,
      [userId],
      'all',
      tx.getTransactionContext(),
    );
  return Number(streaming);
}

/** One finished reply to write, with its id and its owner (whose data key seals it). */
export type FinishedRow = FinishedReply & { messageId: string; ownerId: string };

/**
 * Writes replies' final state in one statement inside `tx`'s transaction (guarded: a row no
 * longer STREAMING, cancelled or settled elsewhere, is left as it is).
 */
export async function saveFinishedReplies(tx: EntityManager, rows: FinishedRow[]): Promise<void> {
  const values = rows.map(() => '(?::uuid, ?::text, ?::message_status, ?::int, ?::int, ?::boolean, ?::text, ?::text, ?::finish_reason)').join(', ');
  await tx.getConnection().execute(
    `update message as m set content = v.content, status = v.status, prompt_tokens = v.prompt, completion_tokens = v.completion,
       usage_estimated = v.estimated, error = v.error, error_code = v.code, finish_reason = v.finish, instance_id = null, heartbeat_at = null
     from (values ${values}) as v(id, content, status, prompt, completion, estimated, error, code, finish)
     where m.id = v.id and m.status = 'STREAMING'`,
    await Promise.all(rows.map((r) => sealContent(tx, r.ownerId, r.messageId, r.content))).then((sealed) =>
      rows.flatMap((r, i) => [
        r.messageId,
        sealed[i],
        r.status,
        r.usage.promptTokens,
        r.usage.completionTokens,
        r.usage.estimated ?? false,
        r.error,
        r.errorCode,
        r.finishReason,
      ]),
    ),
    'all',
    tx.getTransactionContext(),
  );
}

/** Whose reply a settlement ended, for the MESSAGE_FINISHED chat event. */
export interface SettledReply {
  id: string;
  content: string;
  conversationId: string;
  ownerId: string;
}

/**
 * Ends a reply nobody is running any more with `outcome`, keeping its text (guarded: only while it
 * is still STREAMING); returns it when this call ended it.
 */
export async function settleOrphanedReply(em: EntityManager, messageId: string, outcome: ReplyOutcome): Promise<SettledReply | undefined> {
  const rows: SettledReply[] = await em.getConnection().execute<SettledReply[]>(
    `update message m set status = ?, error = ?, error_code = ?, finish_reason = ?, instance_id = null, heartbeat_at = null from conversation c
     where m.id = ? and m.status = 'STREAMING' and c.id = m.conversation_id
     returning m.id, m.content, m.conversation_id as "conversationId", c.owner_id as "ownerId"`,
    [outcome.status, outcome.error, outcome.errorCode, outcome.finishReason, messageId],
  );
  return (await openSettled(em, rows))[0];
}

/** A partial reply to save: its id, text so far and owner. */
export interface PartialReply {
  messageId: string;
  content: string;
  ownerId: string;
}

/** One statement for every reply given, refreshing their heartbeat (guarded: never touches a finished message). */
export async function savePartialReplies(em: EntityManager, rows: PartialReply[]): Promise<void> {
  const sealed = await Promise.all(rows.map((r) => sealContent(em, r.ownerId, r.messageId, r.content)));
  await em.getConnection().execute(
    `update message as m set content = v.content, heartbeat_at = now()
     from (values ${rows.map(() => '(?::uuid, ?::text)').join(', ')}) as v(id, content)
     where m.id = v.id and m.status = 'STREAMING'`,
    rows.flatMap((r, i) => [r.messageId, sealed[i]]),
  );
}

/** Refreshes the heartbeat of the given replies still streaming. */
export async function touchHeartbeats(em: EntityManager, messageIds: string[]): Promise<void> {
  await em
    .getConnection()
    .execute(`update message set heartbeat_at = now() where id in (${messageIds.map(() => '?').join(',')}) and status = 'STREAMING'`, messageIds);
}

/** Marks STREAMING replies whose heartbeat is older than `staleSeconds` (or missing) INTERRUPTED; returns them. */
export async function interruptStaleReplies(em: EntityManager, staleSeconds: number): Promise<SettledReply[]> {
  const rows = await em.getConnection().execute<SettledReply[]>(
    `update message m set status = 'INTERRUPTED', error_code = 'INTERRUPTED', finish_reason = 'INTERRUPTED', instance_id = null, heartbeat_at = null
     from conversation c
     where m.status = 'STREAMING' and (m.heartbeat_at is null or m.heartbeat_at < now() - make_interval(secs => ?)) and c.id = m.conversation_id
     returning m.id, m.content, m.conversation_id as "conversationId", c.owner_id as "ownerId"`,
    [staleSeconds],
  );
  return openSettled(em, rows);
}

/** A reply's text sealed for the `content` column under its owner's data key ('' stays ''). */
function sealContent(em: EntityManager, ownerId: string, messageId: string, content: string): Promise<string> {
  return content === '' ? Promise.resolve('') : cipherOf(em).sealText(ownerId, 'message.content', messageId, content);
}

/** Settled replies with their content opened. */
async function openSettled(em: EntityManager, rows: SettledReply[]): Promise<SettledReply[]> {
  const cipher = cipherOf(em);
  return Promise.all(rows.map(async (r) => ({ ...r, content: await cipher.openText('message.content', r.id, r.content) })));
}

/** Tokens the user's replies used and messages they sent since `since`, across their conversations. */
export async function messageUsageSince(
  em: EntityManager,
  userId: string,
  since: Date,
): Promise<{ promptTokens: number; completionTokens: number; messages: number }> {
  const [row] = await em.getConnection().execute<{ prompt: string; completion: string; sent: string }[]>(
    `select coalesce(sum(m.prompt_tokens) filter (where m.role = 'ASSISTANT'), 0) as prompt,
            coalesce(sum(m.completion_tokens) filter (where m.role = 'ASSISTANT'), 0) as completion,
            count(*) filter (where m.role = 'USER') as sent
     from message m join conversation c on c.id = m.conversation_id where c.owner_id = ? and m.created_at >= ?`,
    [userId, since],
  );
  return { promptTokens: Number(row.prompt), completionTokens: Number(row.completion), messages: Number(row.sent) };
}
