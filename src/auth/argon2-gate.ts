import { RateLimitedError } from '../graphql/errors';

/** Which callers go first when argon2 work queues up: logins before password re-checks. */
export type Argon2Lane = 'login' | 'recheck';

/**
 * A small per-process semaphore around argon2: at most `maxConcurrent` hashes or verifications
 * run at once (each holds a libuv thread and ~19 MiB), the rest wait in a bounded queue. Waiting
 * logins and registrations are served before `changePassword`/`deleteMyAccount` re-checks, so a
 * flood of those cannot starve sign-ins. A full queue answers RATE_LIMITED at once, never waits.
 */
export class Argon2Gate {
  private running = 0;
  private readonly waiting: Record<Argon2Lane, (() => void)[]> = { login: [], recheck: [] };

  constructor(
    private readonly maxConcurrent: number,
    private readonly maxQueue: number,
  ) {}

  async run<T>(lane: Argon2Lane, work: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) {
      const queued = this.waiting.login.length + this.waiting.recheck.length;
      // Re-checks may fill only half the queue, so logins always find room.
      const room = lane === 'login' ? this.maxQueue : Math.floor(this.maxQueue / 2);
      const mine = lane === 'login' ? queued : this.waiting.recheck.length;
      if (queued >= this.maxQueue || mine >= room) throw new RateLimitedError(1, 'The server is busy checking passwords; try again shortly');
      await new Promise<void>((resolve) => this.waiting[lane].push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  /** Hands the slot straight to the next waiter (logins first), or frees it. */
  private release(): void {
    const next = this.waiting.login.shift() ?? this.waiting.recheck.shift();
    if (next) next();
    else this.running--;
  }
}
