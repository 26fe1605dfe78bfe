import type { ConfigReader, RateLimitSetting } from './readers';

/** The configurable rate limits, each with its environment variable and default. */
export const RATE_LIMIT_DEFAULTS = {
  captcha: { env: 'RATE_LIMIT_CAPTCHA', limit: 30, duration: 60 },
  login: { env: 'RATE_LIMIT_LOGIN', limit: 10, duration: 60 },
  register: { env: 'RATE_LIMIT_REGISTER', limit: 5, duration: 3600 },
  refresh: { env: 'RATE_LIMIT_REFRESH', limit: 30, duration: 60 },
  sendMessage: { env: 'RATE_LIMIT_SEND_MESSAGE', limit: 30, duration: 60 },
  export: { env: 'RATE_LIMIT_EXPORT', limit: 5, duration: 3600 },
  admin: { env: 'RATE_LIMIT_ADMIN', limit: 120, duration: 60 },
  wsSubscribe: { env: 'RATE_LIMIT_WS_SUBSCRIBE', limit: 60, duration: 60 },
  upload: { env: 'RATE_LIMIT_UPLOAD', limit: 60, duration: 3600 },
  passwordCheck: { env: 'RATE_LIMIT_PASSWORD_CHECK', limit: 5, duration: 900 },
  apiKey: { env: 'RATE_LIMIT_API_KEY', limit: 10, duration: 3600 },
  /** Not an operation's limit: the cost budget every operation draws from (anonymous: a tenth, per IP). */
  cost: { env: 'RATE_LIMIT_COST', limit: 20_000, duration: 60 },
} as const;
export type RateLimitName = keyof typeof RATE_LIMIT_DEFAULTS;

/** Reads every configurable rate limit (`RATE_LIMIT_*` as `limit/seconds`), each defaulting to RATE_LIMIT_DEFAULTS. */
export function readRateLimits(r: ConfigReader): Record<RateLimitName, RateLimitSetting> {
  const names = Object.keys(RATE_LIMIT_DEFAULTS) as RateLimitName[];
  const limits = {} as Record<RateLimitName, RateLimitSetting>;
  for (const name of names) {
    const d = RATE_LIMIT_DEFAULTS[name];
    limits[name] = r.rate(d.env, { limit: d.limit, duration: d.duration });
  }
  return limits;
}
