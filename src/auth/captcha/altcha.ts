import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import { deriveKey } from '../tokens';
import type { CaptchaChallengeData, CaptchaVerifier } from './captcha';
import { CaptchaUse } from './captcha-use.entity';

/** Failures from one IP (recent) after which its challenges get this many times harder. */
// altcha-lib's types are published for ESM only; its CommonJS build is what `require` loads.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createChallenge, extractParams, verifySolution } = require('altcha-lib/v1') as typeof import('altcha-lib/v1', { with: { 'resolution-mode': 'import' } });

type Payload = Exclude<Parameters<typeof verifySolution>[0], string>;

const HARDER_AFTER_FAILURES = 3;
const HARDER_FACTOR = 10;
const MAX_SOLUTION_LENGTH = 2048;

/**
 * ALTCHA, self-hosted proof of work: an HMAC-signed SHA-256 challenge the browser solves by
 * search. The signature key is derived from SECRET_KEY; each solution is accepted once, until
 * its challenge expires.
 */
export class AltchaVerifier implements CaptchaVerifier {
  readonly provider = 'altcha';
  private readonly hmacKey: string;
  private lastPurge = 0;

  constructor(private readonly config: Config, private readonly recentFailures: (ip: string | undefined) => number) {
    this.hmacKey = deriveKey(config.secretKey, 'altcha').toString('hex');
  }

  async challenge(ip: string | undefined): Promise<CaptchaChallengeData> {
    const base = this.config.captcha.difficulty;
    const maxNumber = this.recentFailures(ip) >= HARDER_AFTER_FAILURES ? base * HARDER_FACTOR : base;
    const c = await createChallenge({
      hmacKey: this.hmacKey,
      algorithm: 'SHA-256',
      maxNumber,
      expires: new Date(Date.now() + this.config.captchaOptions.ttlSeconds * 1000),
    });
    return { provider: this.provider, challenge: { algorithm: c.algorithm, challenge: c.challenge, maxnumber: c.maxnumber, salt: c.salt, signature: c.signature } };
  }

  async verify(solution: string, _ip: string | undefined, em: EntityManager): Promise<boolean> {
    if (typeof solution !== 'string' || solution.length === 0 || solution.length > MAX_SOLUTION_LENGTH) return false;
    let payload: Payload;
    try {
      payload = JSON.parse(Buffer.from(solution, 'base64').toString('utf8'));
    } catch {
      return false;
    }
    if (!payload || typeof payload !== 'object' || typeof payload.signature !== 'string' || typeof payload.salt !== 'string') return false;
    let ok = false;
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

  /** Forgets used solutions whose challenges have expired (at most once a minute). */
  private async purgeExpired(em: EntityManager): Promise<void> {
    if (Date.now() - this.lastPurge < 60_000) return;
    this.lastPurge = Date.now();
    await em.nativeDelete(CaptchaUse, { expiresAt: { $lt: new Date() } });
  }
}
