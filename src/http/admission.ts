import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { sendGraphQLError } from './errors';

/**
 * Which lane a GraphQL request over HTTP runs in: `session` when its bearer token is a valid
 * access token (a signature check, cached per token: cheap, and unforgeable), `key` when it
 * carries an API key (checked later, against the database), `anonymous` for everything else
 * (no token, a bad or expired one).
 */
export type Lane = 'session' | 'key' | 'anonymous';

/** How many requests of one lane run at once, how many may wait, and for how long. */
export interface LaneLimits {
  running: number;
  waiting: number;
  maxWaitMs: number;
}

/** Sized for 2 cores: a handful running keeps the CPU busy; the rest wait unparsed, costing nothing. */
export const DEFAULT_LANE_LIMITS: LaneLimits = { running: 8, waiting: 512, maxWaitMs: 10_000 };

interface Waiter {
  admit: () => void;
  timer: NodeJS.Timeout;
}

/**
 * A counting gate with a bounded FIFO queue. Requests no valid session vouches for pass through
 * it, so a flood of them (login attempts with bad captchas from a botnet, bogus API keys) runs
 * at most `running` at a time while the rest wait with their bodies unread, and a signed-in
 * user's request never queues behind it: it shares the CPU with a few requests, not hundreds.
 */
export class AdmissionGate {
  private running = 0;
  private readonly queue: Waiter[] = [];

  constructor(private readonly limits: LaneLimits) {}

  /**
   * Resolves true once admitted (call `leave` when done), false when the queue is full, the wait
   * ran out, or `gone` fired first (a client that left gives up its place in the queue at once).
   */
  enter(gone?: (cancel: () => void) => void): Promise<boolean> {
    if (this.running < this.limits.running) {
      this.running += 1;
      return Promise.resolve(true);
    }
    if (this.queue.length >= this.limits.waiting) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(waiter.timer);
          resolve(true);
        },
        timer: setTimeout(() => {
          this.queue.splice(this.queue.indexOf(waiter), 1);
          resolve(false);
        }, this.limits.maxWaitMs),
      };
      waiter.timer.unref();
      this.queue.push(waiter);
      gone?.(() => {
        const at = this.queue.indexOf(waiter);
        if (at < 0) return; // already admitted: its slot is released by `leave`
        this.queue.splice(at, 1);
        clearTimeout(waiter.timer);
        resolve(false);
      });
    });
  }

  /** Frees a slot: the longest waiter takes it. */
  leave(): void {
    const next = this.queue.shift();
    if (next) next.admit();
    else this.running -= 1;
  }

  get size(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.queue.length };
  }
}

/**
 * Express middleware before the body parser: `session` requests go straight on; the others take
 * a slot of their lane's gate (released when the response ends or the client leaves) or are
 * refused with 429 `RATE_LIMITED` when their lane's queue is full or they waited too long.
 */
export function admission(classify: (authorization: string | undefined) => Lane, limits: LaneLimits = DEFAULT_LANE_LIMITS): RequestHandler {
  const gates = { key: new AdmissionGate(limits), anonymous: new AdmissionGate(limits) };
  return (req: Request, res: Response, next: NextFunction) => {
    const lane = classify(req.headers.authorization);
    if (lane === 'session') return next();
    const gate = gates[lane];
    void gate
      .enter((cancel) => req.once('close', cancel))
      .then((admitted) => {
        if (req.destroyed) {
          if (admitted) gate.leave();
          return;
        }
        if (!admitted) {
          res.setHeader('retry-after', '1');
          return sendGraphQLError(res, 429, 'RATE_LIMITED', 'The server is busy; try again shortly', { reason: 'RATE', retryAfterSeconds: 1 });
        }
        let left = false;
        const leave = () => {
          if (left) return;
          left = true;
          gate.leave();
        };
        // Released when the response ends or the client leaves; the operation of a client that left
        // mid-way runs on to its end (bounded by the cost limits and the 30 s request timeout).
        res.once('close', leave);
        res.once('finish', leave);
        next();
      });
  };
}
