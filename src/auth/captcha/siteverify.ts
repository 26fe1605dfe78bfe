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
 * The providers themselves refuse a token twice. Fails closed on timeouts and errors.
 */
export class SiteverifyVerifier implements CaptchaVerifier {
  readonly provider: string;
  private readonly url: string;

  constructor(private readonly config: Config, private readonly logger: Logger) {
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
      const body = (await res.json()) as { success?: unknown };
      return body.success === true;
    } catch (err) {
      this.logger.warn('captcha siteverify failed', { provider: this.provider, err: (err as Error).message });
      return false;
    }
  }
}
