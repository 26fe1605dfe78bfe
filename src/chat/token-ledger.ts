import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { RateLimitedError } from '../graphql/errors';
import type { GenerationJob } from './generation';
import { countStreaming } from './message-store';

/** One reply's share of the daily ledger (see GenerationJob). */
export type TokenGrant = Pick<GenerationJob, 'usageDay' | 'reservedTokens' | 'maxTokens' | 'quotaBudget'>;

/**
 * Reserves today's tokens for one reply in the ledger (inside the sender's transaction, under
 * the per-user lock, so concurrent replies each see what the others reserved): the prompt
 * plus `maxTokens`, which is what is left of the quota after the prompt, capped by
 * AI_MAX_OUTPUT_TOKENS and by the caller's `requested` maxOutputTokens. The runner settles the reservation with the real usage at the end.
 */
export async function reserveTokens(tx: EntityManager, config: Config, userId: string, promptTokens: number, requested?: number | null): Promise<TokenGrant> {
  const conn = tx.getConnection();
  const ctx: unknown = tx.getTransactionContext();
  const [row] = await conn.execute<{ day: string; reserved: number; used: number }[]>(
    `insert into token_usage (user_id, day, reserved, used) values (?, (now() at time zone 'utc')::date, 0, 0)
     on conflict (user_id, day) do update set reserved = token_usage.reserved returning day::text as day, reserved, used`,
    [userId],
    'all',
    ctx,
  );
  const quota = config.chat.dailyTokenQuota;
  const remaining = quota === undefined ? Infinity : quota - row.used - row.reserved;
  if (remaining <= 0) throw quotaRefusal(quota, row.used);
  const maxTokens = Math.min(config.ai.maxOutputTokens, requested ?? Infinity, Math.max(1, remaining - promptTokens));
  const reservedTokens = promptTokens + maxTokens;
  await conn.execute('update token_usage set reserved = reserved + ? where user_id = ? and day = ?::date', [reservedTokens, userId, row.day], 'all', ctx);
  return { usageDay: row.day, reservedTokens, maxTokens, quotaBudget: quota === undefined ? undefined : reservedTokens };
}

/** DAILY_QUOTA: soon when replies under way hold the rest (their reservations come back), else at midnight UTC. */
function quotaRefusal(quota: number | undefined, used: number): RateLimitedError {
  if (quota !== undefined && used < quota)
    return new RateLimitedError(5, 'Daily token quota is reserved by replies under way; try again when they finish', 'DAILY_QUOTA');
  const midnight = new Date();
  midnight.setUTCHours(24, 0, 0, 0);
  return new RateLimitedError((midnight.getTime() - Date.now()) / 1000, 'Daily token quota exceeded', 'DAILY_QUOTA');
}

/**
 * Refuses (CONCURRENT_STREAMS, DAILY_QUOTA) a reply that could not start now, reading only: for
 * a caller about to write something first (the /v1 door's new conversation), so a refused
 * request leaves no row. The binding check is still the one under the sender's lock.
 */
export async function assertReplyRoom(em: EntityManager, config: Config, userId: string): Promise<void> {
  if ((await countStreaming(em, userId)) >= config.chat.maxConcurrentStreams)
    throw new RateLimitedError(1, `At most ${config.chat.maxConcurrentStreams} replies may stream at once; wait for one to finish`, 'CONCURRENT_STREAMS');
  const quota = config.chat.dailyTokenQuota;
  if (quota === undefined) return;
  const [row] = await em
    .getConnection()
    .execute<{ reserved: number; used: number }[]>(`select reserved, used from token_usage where user_id = ? and day = (now() at time zone 'utc')::date`, [
      userId,
    ]);
  if (row && quota - row.used - row.reserved <= 0) throw quotaRefusal(quota, row.used);
}

/** One reply's settlement: its reservation and what it really used. */
export interface Settlement {
  userId: string;
  usageDay: string;
  reservedTokens: number;
  promptTokens: number;
  completionTokens: number;
}

/**
 * Turns replies' reservations in the daily ledger into what they really used (never below zero),
 * in one statement inside `tx`'s transaction. Replies of one user and day are summed first: an
 * UPDATE ... FROM applies only one of several source rows to a target row.
 */
export async function settleReservations(tx: EntityManager, rows: Settlement[]): Promise<void> {
  await tx.getConnection().execute(
    `update token_usage as t set reserved = greatest(t.reserved - v.reserved, 0), used = t.used + v.prompt + v.completion,
       prompt_tokens = t.prompt_tokens + v.prompt, completion_tokens = t.completion_tokens + v.completion
     from (select user_id, day, sum(reserved) as reserved, sum(prompt) as prompt, sum(completion) as completion
           from (values ${rows.map(() => '(?::uuid, ?::date, ?::bigint, ?::bigint, ?::bigint)').join(', ')}) as r(user_id, day, reserved, prompt, completion)
           group by user_id, day) as v
     where t.user_id = v.user_id and t.day = v.day`,
    rows.flatMap((r) => [r.userId, r.usageDay, r.reservedTokens, r.promptTokens, r.completionTokens]),
    'all',
    tx.getTransactionContext(),
  );
}
