import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';

const FAILURE_MEMORY_MS = 15 * 60_000;
const MAX_TRACKED_IPS = 100_000;

/** The key lockout is counted under: the normalised email's hash, whether or not an account has it. */
export function accountKey(email: string): string {
  return createHash('sha256').update(`login:${email}`).digest('hex');
}

/**
 * Brute-force brakes for login (the per-IP attempt limit is the `@rateLimit` on `login`).
 * Per IP (in memory): a count of recent failures that makes that IP's captchas harder. Per
 * account key (in PostgreSQL, shared by every instance): LOGIN_MAX_FAILURES failures in 15
 * minutes lock it for LOGIN_LOCK_MINUTES, doubling each time.
 */
export class LoginGuard {
  private readonly failures = new Map<string, number[]>();

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

  /** Seconds until the account key's lock ends, or 0 when it is not locked. */
  async lockedFor(em: EntityManager, key: string): Promise<number> {
    const rows = await em.getConnection().execute<{ seconds: string }[]>(
      `select ceil(extract(epoch from (locked_until - now()))) as seconds from login_throttle where account_key = ? and locked_until > now()`,
      [key],
    );
    return rows.length ? Math.max(1, Number(rows[0].seconds)) : 0;
  }

  /** Counts a failure for the key (atomically); returns the lock length in seconds if this one locked it. */
  async recordFailure(em: EntityManager, key: string): Promise<number> {
    const conn = em.getConnection();
    const [row] = await conn.execute<{ failures: number; lock_count: number }[]>(
      `insert into login_throttle (account_key, failures, window_started_at, lock_count) values (?, 1, now(), 0)
       on conflict (account_key) do update set
         failures = case when login_throttle.window_started_at < now() - interval '15 minutes' then 1 else login_throttle.failures + 1 end,
         window_started_at = case when login_throttle.window_started_at < now() - interval '15 minutes' then now() else login_throttle.window_started_at end
       returning failures, lock_count`,
      [key],
    );
    if (row.failures < this.config.auth.loginMaxFailures) return 0;
    const minutes = this.config.auth.loginLockMinutes * 2 ** Math.min(row.lock_count, 10);
    await conn.execute(
      `update login_throttle set locked_until = now() + make_interval(mins => ?), lock_count = lock_count + 1, failures = 0, window_started_at = now() where account_key = ?`,
      [minutes, key],
    );
    return minutes * 60;
  }

  /** A successful login forgets the key's failures and lock history. */
  async reset(em: EntityManager, key: string): Promise<void> {
    await em.getConnection().execute('delete from login_throttle where account_key = ?', [key]);
  }

  private prune(now: number): void {
    for (const [k, v] of this.failures) if (!v.some((t) => now - t < FAILURE_MEMORY_MS)) this.failures.delete(k);
  }
}
