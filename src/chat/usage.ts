import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { messageUsageSince } from './message-store';
import type { UsageSummary } from './usage.types';

/** How far back usage is reported (and the ledger kept): a year and a day. */
export const USAGE_DAYS = 366;

/** Removes token-ledger days older than USAGE_DAYS, so the table stays bounded; returns how many. */
export async function pruneTokenLedger(em: EntityManager): Promise<number> {
  const rows = await em
    .getConnection()
    .execute<{ n: string }[]>(
      `with d as (delete from token_usage where day < (now() at time zone 'utc')::date - ?::int returning 1) select count(*) as n from d`,
      [USAGE_DAYS],
    );
  return Number(rows[0].n);
}

/**
 * A user's usage from the token ledger (which deleting history never lowers), by UTC day from
 * the day of `since` (clamped to USAGE_DAYS back), with the daily quota and what remains of it
 * today (null when unlimited).
 */
export async function usageSummary(em: EntityManager, config: Config, userId: string, since: Date): Promise<UsageSummary> {
  const earliest = Date.now() - USAGE_DAYS * 86_400_000;
  const from = new Date(Math.max(since.getTime(), earliest));
  const [sum] = await em.getConnection().execute<{ prompt: string; completion: string; used_today: string; reserved_today: string }[]>(
    `select coalesce(sum(prompt_tokens) filter (where day >= (?::timestamptz at time zone 'utc')::date), 0) as prompt,
            coalesce(sum(completion_tokens) filter (where day >= (?::timestamptz at time zone 'utc')::date), 0) as completion,
            coalesce(sum(used) filter (where day = (now() at time zone 'utc')::date), 0) as used_today,
            coalesce(sum(reserved) filter (where day = (now() at time zone 'utc')::date), 0) as reserved_today
     from token_usage where user_id = ?`,
    [from, from, userId],
  );
  const { messages } = await messageUsageSince(em, userId, from);
  const quota = config.chat.dailyTokenQuota ?? null;
  const promptTokens = Number(sum.prompt);
  const completionTokens = Number(sum.completion);
  return {
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens,
    messages,
    dailyQuota: quota,
    remainingToday: quota === null ? null : Math.max(0, quota - Number(sum.used_today) - Number(sum.reserved_today)),
  };
}
