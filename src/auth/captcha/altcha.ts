import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { deriveKey } from '../tokens';
import type { CaptchaChallengeData, CaptchaVerifier } from './captcha';
import { CaptchaUse } from './captcha-use.entity';

// altcha-lib's types are published for ESM only; its CommonJS build is what `require` loads.
// tsc resolves those types (resolution-mode import); the linter's parser cannot, hence its `any`.
/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-unsafe-assignment -- the one CommonJS load of an ESM-typed module */
const { createChallenge, extractParams, verifySolution } = require('altcha-lib/v1') as typeof import('altcha-lib/v1', {
  with: { 'resolution-mode': 'import' },
});
/* eslint-enable @typescript-eslint/no-require-imports, @typescript-eslint/no-unsafe-assignment */

type Payload = Exclude<Parameters<typeof verifySolution>[0], string>;

/** Failures from one IP (recent) after which its challenges get this many times harder. */
const HARDER_AFTER_FAILURES = 3;
const HARDER_FACTOR = 10;
/** The hardest a challenge gets (x100), whatever the reasons add up to. */
const MAX_FACTOR = 100;
const MAX_SOLUTION_LENGTH = 2048;
/** How long an IP told to solve harder challenges (for an account under attack) keeps getting them. */
const DEMAND_MS = 15 * 60_000;
const MAX_DEMANDS = 100_000;

/**
 * ALTCHA, self-hosted proof of work: an HMAC-signed SHA-256 challenge the browser solves by
 * search. The signature key is derived from SECRET_KEY; each solution is accepted once, until
 * its challenge expires.
 */
export class AltchaVerifier implements CaptchaVerifier {
  readonly provider = 'altcha';
  private readonly hmacKey: string;
  private lastPurge = 0;
  private readonly demands = new Map<string, { factor: number; until: number }>();

  constructor(
    private readonly config: Config,
    private readonly recentFailures: (ip: string | undefined) => number,
  ) {
    this.hmacKey = deriveKey(config.secretKey, 'altcha').toString('hex');
  }

  async challenge(ip: string | undefined): Promise<CaptchaChallengeData> {
    const byIp = this.recentFailures(ip) >= HARDER_AFTER_FAILURES ? HARDER_FACTOR : 1;
    const demand = this.demands.get(ip ?? 'unknown');
    const byAccount = demand && demand.until > Date.now() ? demand.factor : 1;
    const factor = Math.min(MAX_FACTOR, Math.max(byIp, byAccount));
    const c = await createChallenge({
      hmacKey: this.hmacKey,
      algorithm: 'SHA-256',
      maxNumber: this.config.captcha.difficulty * factor,
      // In the salt, so covered by the signature: how much harder than the base this challenge is.
      params: { f: String(factor) },
      expires: new Date(Date.now() + this.config.captchaOptions.ttlSeconds * 1000),
    });
    return {
      provider: this.provider,
      challenge: { algorithm: c.algorithm, challenge: c.challenge, maxnumber: c.maxnumber, salt: c.salt, signature: c.signature },
    };
  }

  async verify(solution: string, _ip: string | undefined, em: EntityManager): Promise<boolean> {
    if (typeof solution !== 'string' || solution.length === 0 || solution.length > MAX_SOLUTION_LENGTH) return false;
    let payload: Payload;
    try {
      payload = JSON.parse(Buffer.from(solution, 'base64').toString('utf8')) as Payload;
    } catch {
      return false;
    }
    if (!payload || typeof payload !== 'object' || typeof payload.signature !== 'string' || typeof payload.salt !== 'string') return false;
    let ok: boolean;
    try {
      ok = await verifySolution(payload, this.hmacKey, true);
    } catch {
      return false;
    }
    if (!ok) return false;
    // Replay guard: the first use of a signature inserts it; any later use finds it there.
    const expires = Number(extractParams(payload).expires);
    const expiresAt = new Date(Number.isFinite(expires) ? expires * 1000 : Date.now() + this.config.captchaOptions.ttlSeconds * 1000);
    const conn = em.getConnection();
    const inserted = await conn.execute<{ signature: string }[]>(
      'insert into captcha_use (signature, expires_at) values (?, ?) on conflict (signature) do nothing returning signature',
      [payload.signature, expiresAt],
    );
    await this.purgeExpired(em);
    return inserted.length === 1;
  }

  /** How many times the base difficulty the solution's (signed) challenge was made at; 1 when unreadable. */
  factorOf(solution: string): number {
    try {
      const payload = JSON.parse(Buffer.from(solution, 'base64').toString('utf8')) as Payload;
      const f = Number(extractParams(payload).f);
      return Number.isFinite(f) && f >= 1 ? f : 1;
    } catch {
      return 1;
    }
  }

  /** From now on (for a while) this IP's challenges are made `factor` times harder: an account it tried needs that. */
  demand(ip: string | undefined, factor: number): void {
    if (this.demands.size >= MAX_DEMANDS) this.demands.delete(this.demands.keys().next().value!);
    const key = ip ?? 'unknown';
    this.demands.delete(key); // re-inserted last, so the oldest demand is the one evicted
    this.demands.set(key, { factor: Math.min(MAX_FACTOR, factor), until: Date.now() + DEMAND_MS });
  }

  /** Forgets used solutions whose challenges have expired (at most once a minute). */
  private async purgeExpired(em: EntityManager): Promise<void> {
    if (Date.now() - this.lastPurge < 60_000) return;
    this.lastPurge = Date.now();
    await em.nativeDelete(CaptchaUse, { expiresAt: { $lt: new Date() } });
  }
}
