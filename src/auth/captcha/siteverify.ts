import type { Config } from '../../config';
import type { Logger } from '../../logging/logger';
import type { CaptchaChallengeData, CaptchaVerifier } from './captcha';

const DEFAULT_URLS: Record<string, string> = {
  turnstile: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
  hcaptcha: 'https://api.hcaptcha.com/siteverify',
  recaptcha: 'https://www.google.com/recaptcha/api/siteverify',
};
const TIMEOUT_MS = 5000;
const MAX_TOKEN_LENGTH = 4096;

/**
 * Cloudflare Turnstile, hCaptcha and reCAPTCHA: the browser widget yields a token; we ask the
 * provider's siteverify endpoint (form POST of secret, response, remoteip; JSON `success`).
 * The providers themselves refuse a token twice. Fails closed on timeouts and errors. The answer
 * must also name one of CAPTCHA_HOSTNAMES (default: the hosts of CORS_ORIGINS; unchecked when
 * both are empty), so a token solved on someone else's page is refused, and for reCAPTCHA carry a
 * `score` of at least CAPTCHA_MIN_SCORE (v3; a missing score passes only when that is 0).
 */
export class SiteverifyVerifier implements CaptchaVerifier {
  readonly provider: string;
  private readonly url: string;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    this.provider = config.captcha.provider;
    this.url = config.captchaOptions.verifyUrl ?? DEFAULT_URLS[this.provider];
  }

  async challenge(): Promise<CaptchaChallengeData> {
    return { provider: this.provider, challenge: { siteKey: this.config.captchaOptions.siteKey ?? null } };
  }

  async verify(solution: string, ip: string | undefined): Promise<boolean> {
    if (typeof solution !== 'string' || solution.length === 0 || solution.length > MAX_TOKEN_LENGTH) return false;
    const form = new URLSearchParams({ secret: this.config.captchaOptions.secret ?? '', response: solution });
    if (ip) form.set('remoteip', ip);
    try {
      const res = await fetch(this.url, { method: 'POST', body: form, signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (!res.ok) {
        this.logger.warn('captcha siteverify answered an error', { provider: this.provider, status: res.status });
        return false;
      }
      const body = (await res.json()) as { success?: unknown; score?: unknown; hostname?: unknown };
      return body.success === true && this.acceptable(body);
    } catch (err) {
      this.logger.warn('captcha siteverify failed', { provider: this.provider, err: (err as Error).message });
      return false;
    }
  }

  /** The hostname and (reCAPTCHA) score checks on a successful answer; a refusal is logged without the token. */
  private acceptable(body: { score?: unknown; hostname?: unknown }): boolean {
    const { hostnames, minScore } = this.config.captcha;
    const hostname = typeof body.hostname === 'string' ? body.hostname.toLowerCase() : undefined;
    if (hostnames.length > 0 && (hostname === undefined || !hostnames.includes(hostname))) {
      this.logger.warn('captcha answered for another site', { provider: this.provider, hostname: hostname?.slice(0, 253) });
      return false;
    }
    if (this.provider === 'recaptcha' && minScore > 0 && !(typeof body.score === 'number' && body.score >= minScore)) {
      this.logger.warn('captcha score too low', { provider: this.provider, score: typeof body.score === 'number' ? body.score : null });
      return false;
    }
    return true;
  }
}
