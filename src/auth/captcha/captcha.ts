import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config';
import type { Logger } from '../../logging/logger';
import { AltchaVerifier } from './altcha';
import { SiteverifyVerifier } from './siteverify';

/** What `captchaChallenge` returns: the provider and what its widget needs. */
export interface CaptchaChallengeData {
  provider: string;
  challenge: Record<string, unknown>;
}

/** One captcha provider: hands out challenges and checks solutions, each solution at most once. */
export interface CaptchaVerifier {
  readonly provider: string;
  challenge(ip: string | undefined, em: EntityManager): Promise<CaptchaChallengeData>;
  /** True only for a well-formed, correct, unexpired solution never accepted before. */
  verify(solution: string, ip: string | undefined, em: EntityManager): Promise<boolean>;
  /** Proof-of-work providers: how many times the base difficulty an (already verified) solution's challenge was. */
  factorOf?(solution: string): number;
  /** Proof-of-work providers: make this IP's next challenges `factor` times harder for a while. */
  demand?(ip: string | undefined, factor: number): void;
}

/** Development only (refused in prod by config): every solution passes. */
class NoCaptcha implements CaptchaVerifier {
  readonly provider = 'none';
  async challenge(): Promise<CaptchaChallengeData> {
    return { provider: 'none', challenge: {} };
  }
  async verify(): Promise<boolean> {
    return true;
  }
}

/** The verifier CAPTCHA_PROVIDER names. */
export function createCaptchaVerifier(config: Config, logger: Logger, recentFailures: (ip: string | undefined) => number): CaptchaVerifier {
  switch (config.captcha.provider) {
    case 'altcha':
      return new AltchaVerifier(config, recentFailures);
    case 'turnstile':
    case 'hcaptcha':
    case 'recaptcha':
      return new SiteverifyVerifier(config, logger);
    case 'none':
      return new NoCaptcha();
  }
}
