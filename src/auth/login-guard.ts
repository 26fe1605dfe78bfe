import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';

const FAILURE_MEMORY_MS = 15 * 60_000;
const MAX_TRACKED_IPS = 100_000;
/** The row holding an account's failures from every IP (24 h window): it drives captcha escalation, never a lock. */
const ALL_CLIENTS = '*';
/** Each this many times LOGIN_MAX_FAILURES failures (all IPs, one day) multiply the account's captcha work by 10... */
const ESCALATE_PER_MAX_FAILURES = 2;
/** ...up to this many steps (x100), so the owner's browser can still solve it. */
const MAX_ESCALATION_STEPS = 2;
const PURGE_EVERY_MS = 3_600_000;

/** The key lockout is counted under: the normalised email's hash, whether or not an account has it. */
export function accountKey(email: string): string {
  return createHash('sha256').update(`login:${email}`).digest('hex');
}

/** The client part of a lock: a hash of the IP, so the table stores no address. */
function clientKey(ip: string | undefined): string {
  return createHash('sha256')
    .update(`client:${ip ?? 'unknown'}`)
    .digest('hex');
}

/**
 * Brute-force brakes for login and password re-checks (the per-IP attempt limit is the
 * `@rateLimit` on `login`). Per IP (in memory): recent failures make that IP's captchas harder.
 * Per (account key, client IP) in PostgreSQL, shared by every instance: LOGIN_MAX_FAILURES
 * failures in 15 minutes lock that pair for LOGIN_LOCK_MINUTES, doubling per lock, the doubling
 * forgotten one step per day. So an attacker locks only themself out, never the owner elsewhere.
 * Per account (row `*`): failures from all IPs over a day raise its captcha difficulty instead.
 */
export class LoginGuard {
  private readonly failures = new Map<string, number[]>();
  private lastPurge = 0;

  constructor(private readonly config: Config) {}

  noteFailure(ip: string | undefined, now = Date.now()): void {
    const key = ip ?? 'unknown';
    if (this.failures.size >= MAX_TRACKED_IPS) this.prune(now);
    const list = (this.failures.get(key) ?? []).filter((t) => now - t < FAILURE_MEMORY_MS);
    list.push(now);
    this.failures.set(key, list.slice(-100));
  }

  recentFailures(ip: string | undefined, now = Date.now()): number {
    return (this.failures.get(ip ?? 'unknown') ?? []).filter((t) => now - t < FAILURE_MEMORY_MS).length;
  }

  /** Seconds until the lock of this account key for this client IP ends, or 0 when it is not locked. */
  async lockedFor(em: EntityManager, key: string, ip: string | undefined): Promise<number> {
    const rows = await em
      .getConnection()
      .execute<{ seconds: string }[]>(
        `select ceil(extract(epoch from (locked_until - now()))) as seconds from login_throttle where account_key = ? and client_key = ? and locked_until > now()`,
        [key, clientKey(ip)],
      );
    return rows.length ? Math.max(1, Number(rows[0].seconds)) : 0;
  }

  /** How many times harder than usual the account's captcha must be (1, 10 or 100), from its failures over the last day. */
  async captchaFactor(em: EntityManager, key: string): Promise<number> {
    const rows = await em
      .getConnection()
      .execute<{ failures: number }[]>(
        `select failures from login_throttle where account_key = ? and client_key = ? and window_started_at > now() - interval '1 day'`,
        [key, ALL_CLIENTS],
      );
    const perStep = this.config.auth.loginMaxFailures * ESCALATE_PER_MAX_FAILURES;
    const steps = Math.min(MAX_ESCALATION_STEPS, Math.floor((rows[0]?.failures ?? 0) / perStep));
    return 10 ** steps;
  }

  /** Counts a failure for the key from this IP (atomically); returns the lock length in seconds if this one locked the pair. */
  async recordFailure(em: EntityManager, key: string, ip: string | undefined): Promise<number> {
    const conn = em.getConnection();
    await conn.execute(
      `insert into login_throttle (account_key, client_key, failures, window_started_at, lock_count) values (?, ?, 1, now(), 0)
       on conflict (account_key, client_key) do update set
         failures = case when login_throttle.window_started_at < now() - interval '1 day' then 1 else login_throttle.failures + 1 end,
         window_started_at = case when login_throttle.window_started_at < now() - interval '1 day' then now() else login_throttle.window_started_at end`,
      [key, ALL_CLIENTS],
    );
    const client = clientKey(ip);
    const [row] = await conn.execute<{ failures: number; lock_count: number }[]>(
      `insert into login_throttle (account_key, client_key, failures, window_started_at, lock_count) values (?, ?, 1, now(), 0)
       on conflict (account_key, client_key) do update set
         failures = case when login_throttle.window_started_at < now() - interval '15 minutes' then 1 else login_throttle.failures + 1 end,
         window_started_at = case when login_throttle.window_started_at < now() - interval '15 minutes' then now() else login_throttle.window_started_at end
       returning failures, greatest(0, lock_count - floor(extract(epoch from now() - coalesce(last_locked_at, now())) / 86400))::int as lock_count`,
      [key, client],
    );
    await this.purgeStale(em);
    if (row.failures < this.config.auth.loginMaxFailures) return 0;
    const minutes = this.config.auth.loginLockMinutes * 2 ** Math.min(row.lock_count, 10);
    await conn.execute(
      `update login_throttle set locked_until = now() + make_interval(mins => ?), lock_count = ? + 1, last_locked_at = now(), failures = 0, window_started_at = now() where account_key = ? and client_key = ?`,
      [minutes, row.lock_count, key, client],
    );
    return minutes * 60;
  }

  /** A successful login from this IP forgets that pair's failures and lock history (the account-wide count decays on its own). */
  async reset(em: EntityManager, key: string, ip: string | undefined): Promise<void> {
    await em.getConnection().execute('delete from login_throttle where account_key = ? and client_key = ?', [key, clientKey(ip)]);
  }

  /** Forgets the account key's failures and locks from every IP (the account is being erased); inside `tx`'s transaction. */
  async resetAccount(tx: EntityManager, key: string): Promise<void> {
    await tx.getConnection().execute('delete from login_throttle where account_key = ?', [key], 'all', tx.getTransactionContext());
  }

  /** Drops rows that no longer lock, count or double anything (at most once an hour): the table stays bounded. */
  private async purgeStale(em: EntityManager): Promise<void> {
    if (Date.now() - this.lastPurge < PURGE_EVERY_MS) return;
    this.lastPurge = Date.now();
    await em
      .getConnection()
      .execute(
        `delete from login_throttle where window_started_at < now() - interval '1 day' and (locked_until is null or locked_until < now()) and (last_locked_at is null or last_locked_at < now() - interval '11 days')`,
      );
  }

  private prune(now: number): void {
    for (const [k, v] of this.failures) if (!v.some((t) => now - t < FAILURE_MEMORY_MS)) this.failures.delete(k);
  }
}
