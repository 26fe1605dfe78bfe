import { randomBytes } from 'node:crypto';
import path from 'node:path';

/** The deployment mode; `prod` turns on every refusal and hides internals. */
export type AppEnv = 'dev' | 'test' | 'prod';
export type DatabaseSsl = 'disable' | 'require' | 'verify-full';
export type CaptchaProvider = 'altcha' | 'turnstile' | 'hcaptcha' | 'recaptcha' | 'none';
export type AiProvider = 'echo' | 'openai';
export type LogLevel = 'error' | 'warn' | 'info' | 'http' | 'verbose' | 'debug' | 'silly';

/** The whole runtime configuration, parsed and validated once at startup. */
export interface Config {
  appEnv: AppEnv;
  port: number;
  host: string;
  /** Set: use this PostgreSQL. Unset (never in prod): embedded PostgreSQL under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  db: {
    statementTimeoutMs: number;
    poolMax: number;
    ssl: DatabaseSsl;
    caFile?: string;
  };
  secretKey: string;
  /** True when no SECRET_KEY was given and a random one was made for this process (never in prod). */
  secretKeyGenerated: boolean;
  corsOrigins: string[];
  bodyLimitBytes: number;
  maxUploadBytes: number;
  uploads: {
    /** Bytes of stored files per user; an upload that would pass it is 413. */
    userStorageQuotaBytes: number;
    /** Uploads one user may have under way at once in this process; more is 429. */
    maxInFlightPerUser: number;
  };
  logLevel: LogLevel;
  /** When set, GET /metrics requires `Authorization: Bearer <metricsToken>`. */
  metricsToken?: string;
  trustProxy: boolean;
  shutdownTimeoutMs: number;
  captcha: {
    provider: CaptchaProvider;
    difficulty: number;
    /** reCAPTCHA v3: answers scoring below this are refused (a missing score too, unless 0). */
    minScore: number;
    /** Hostnames a siteverify answer may name (empty: not checked). */
    hostnames: string[];
  };
  ai: {
    provider: AiProvider;
    models: string[];
    openaiBaseUrl: string;
    openaiApiKey?: string;
    echoTokenDelayMs: number;
    firstTokenTimeoutMs: number;
    idleTimeoutMs: number;
    maxContextChars: number;
    /** Upper bound on `max_tokens` sent upstream (the remaining daily quota may lower it). */
    maxOutputTokens: number;
  };
  audit: {
    /** Events older than this are purged (never under 365), behind a checkpoint. */
    retentionDays: number;
    sweepSeconds: number;
    /** Events that may wait to be appended; past it a request that must be audited answers RATE_LIMITED. */
    queueMax: number;
    /** How often each instance logs a signed `audit.head` checkpoint (when the head moved). */
    headLogSeconds: number;
  };
  /** Conversations not updated for this many days are hard-deleted (undefined: kept forever). */
  conversationRetentionDays?: number;
  chat: {
    maxConcurrentStreams: number;
    /** Tokens (prompt + completion) per user per UTC day; undefined: no quota. */
    dailyTokenQuota?: number;
    /** A STREAMING message whose generation has not reported for this long is INTERRUPTED. */
    staleGenerationSeconds: number;
  };
  rateLimitScale: number;
  auth: {
    /** Verifies tokens signed before a key rotation. */
    secretKeyPrevious?: string;
    /** When SECRET_KEY replaced SECRET_KEY_PREVIOUS: the previous key verifies only tokens issued before it, for one access-token lifetime. */
    secretKeyRotatedAt: Date;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    sessionMaxAgeSeconds: number;
    refreshReuseGraceSeconds: number;
    argon2: { memoryKiB: number; timeCost: number; parallelism: number };
    loginMaxFailures: number;
    loginLockMinutes: number;
    /** argon2 hashes/verifications running at once in this process, and how many may wait. */
    argon2MaxConcurrent: number;
    argon2MaxQueue: number;
    bootstrapAdmin?: { email: string; password: string };
  };
  limits: {
    maxDepth: number;
    maxCost: number;
    maxAliases: number;
    allowIntrospection: boolean;
    persistedQueriesOnly: boolean;
    persistedQueriesFile: string;
  };
  /** Per-operation limits as [limit, seconds], before RATE_LIMIT_SCALE. */
  rateLimits: Record<RateLimitName, RateLimitSetting>;
  redisUrl?: string;
  ws: { maxConnectionsPerIp: number; maxSubscriptionsPerConnection: number };
  captchaOptions: {
    ttlSeconds: number;
    secret?: string;
    siteKey?: string;
    verifyUrl?: string;
  };
}

/** A rate limit: `limit` operations per `duration` seconds. */
export interface RateLimitSetting {
  limit: number;
  duration: number;
}

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
  /** Not an operation's limit: the cost budget every operation draws from (anonymous: a tenth, per IP). */
  cost: { env: 'RATE_LIMIT_COST', limit: 20_000, duration: 60 },
} as const;
export type RateLimitName = keyof typeof RATE_LIMIT_DEFAULTS;

/** Every invalid setting found, so an operator fixes them all in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Secrets that appear in examples and tutorials; refusing them in prod stops copy-paste deployments. */
const PLACEHOLDER_SECRETS = [
  'changeme', 'change-me', 'change_me', 'changethis', 'secret', 'secretkey', 'secret-key', 'secret_key',
  'your-secret-key', 'your_secret_key', 'yoursecretkey', 'mysecret', 'supersecret', 'password',
  'placeholder', 'example', 'default', 'insecure', 'development', 'test', 'replace-me', 'todo',
];

/** True when `key` is, or is built from, a well-known placeholder rather than real random material. */
export function isPlaceholderSecret(key: string): boolean {
  const lower = key.toLowerCase();
  const squashed = lower.replace(/[^a-z0-9]/g, '');
  if (new Set(key).size < 8) return true; // "aaaa…", "abababab…": no real entropy
  return PLACEHOLDER_SECRETS.some((p) => {
    const word = p.replace(/[^a-z0-9]/g, '');
    return lower.includes(p) || squashed.includes(word);
  });
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Parses `900`, `30s`, `15m`, `1h`, `14d` into seconds; undefined when malformed. */
export function parseDuration(raw: string): number | undefined {
  const m = /^\s*(\d+)\s*(s|m|h|d)?\s*$/i.exec(raw);
  if (!m) return undefined;
  const seconds = Number(m[1]) * DURATION_UNITS[(m[2] ?? 's').toLowerCase()];
  return seconds > 0 ? seconds : undefined;
}

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** Parses `1mb`, `512kb`, `1048576` into bytes; undefined when malformed. */
export function parseByteSize(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(raw);
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]);
  return bytes > 0 ? bytes : undefined;
}

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  str(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.str(name);
    if (v === undefined) return fallback;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${v}")`);
    return fallback;
  }

  /** A size such as `10mb`, `512kb` or `1048576`, in bytes; `example` is shown when it is malformed. */
  bytes(name: string, fallback: number, example: string): number {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const parsed = parseByteSize(v);
    if (parsed === undefined) {
      this.problems.push(`${name} must be a size such as ${example} (got "${v}")`);
      return fallback;
    }
    return parsed;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max} (got "${v}")`);
      return fallback;
    }
    return n;
  }

  num(name: string, fallback: number, min: number, max: number): number {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) {
      this.problems.push(`${name} must be a number from ${min} to ${max} (got "${v}")`);
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.str(name)?.toLowerCase();
    if (v === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    this.problems.push(`${name} must be true or false (got "${v}")`);
    return fallback;
  }

  duration(name: string, fallback: number, min: number, max: number): number {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const seconds = parseDuration(v);
    if (seconds === undefined || seconds < min || seconds > max) {
      this.problems.push(`${name} must be a duration such as 900, 15m, 1h or 14d, from ${min} to ${max} seconds (got "${v}")`);
      return fallback;
    }
    return seconds;
  }

  rate(name: string, fallback: RateLimitSetting): RateLimitSetting {
    const v = this.str(name);
    if (v === undefined) return { ...fallback };
    const m = /^(\d+)\s*\/\s*(\d+)$/.exec(v);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1 || Number(m[2]) > 86_400) {
      this.problems.push(`${name} must be "limit/seconds" such as 10/60 (got "${v}")`);
      return { ...fallback };
    }
    return { limit: Number(m[1]), duration: Number(m[2]) };
  }

  list(name: string): string[] {
    return (this.str(name) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  }
}

function parseDatabaseUrl(r: Reader): string | undefined {
  const url = r.str('DATABASE_URL');
  if (url === undefined) return undefined;
  try {
    const u = new URL(url);
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
      r.problems.push('DATABASE_URL must be a postgres:// URL');
    }
  } catch {
    r.problems.push('DATABASE_URL is not a valid URL');
  }
  return url;
}

function parseCorsOrigins(r: Reader): string[] {
  const origins = r.list('CORS_ORIGINS');
  for (const o of origins) {
    let ok = false;
    try {
      const u = new URL(o);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o;
    } catch {
      ok = false;
    }
    if (!ok) r.problems.push(`CORS_ORIGINS entry "${o}" must be an exact origin such as https://app.example.com (scheme, host, optional port, no path)`);
  }
  return origins;
}

function parseSecret(r: Reader, appEnv: AppEnv): { secretKey: string; secretKeyGenerated: boolean } {
  const key = r.str('SECRET_KEY');
  if (appEnv === 'prod') {
    if (key === undefined) r.problems.push('SECRET_KEY is required in prod (at least 32 random characters)');
    else if (key.length < 32) r.problems.push(`SECRET_KEY must be at least 32 characters in prod (got ${key.length})`);
    else if (isPlaceholderSecret(key)) r.problems.push('SECRET_KEY looks like a placeholder; use at least 32 random characters in prod');
  }
  if (key !== undefined) return { secretKey: key, secretKeyGenerated: false };
  return { secretKey: randomBytes(32).toString('base64url'), secretKeyGenerated: true };
}

/** Parses and validates the environment; throws ConfigError listing every problem found. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const r = new Reader(env);
  const appEnv = r.oneOf<AppEnv>('APP_ENV', ['dev', 'test', 'prod'], 'dev');
  const prod = appEnv === 'prod';

  const databaseUrl = parseDatabaseUrl(r);
  if (prod && databaseUrl === undefined) {
    r.problems.push('DATABASE_URL is required in prod (the embedded PostgreSQL is for development only)');
  }
  const ssl = r.oneOf<DatabaseSsl>('DATABASE_SSL', ['disable', 'require', 'verify-full'], 'disable');
  const caFile = r.str('DATABASE_CA_FILE');

  const corsOrigins = parseCorsOrigins(r);
  if (prod && corsOrigins.length === 0) {
    r.problems.push('CORS_ORIGINS is required in prod: a comma list of the exact browser origins allowed to call the API');
  }

  const captchaProvider = r.oneOf<CaptchaProvider>('CAPTCHA_PROVIDER', ['altcha', 'turnstile', 'hcaptcha', 'recaptcha', 'none'], 'altcha');
  if (prod && captchaProvider === 'none') {
    r.problems.push('CAPTCHA_PROVIDER=none disables the captcha, which is refused in prod');
  }

  const bodyLimitBytes = r.bytes('BODY_LIMIT', 1024 * 1024, '1mb or 524288');
  const maxUploadBytes = r.bytes('MAX_UPLOAD_BYTES', 10 * 1024 * 1024, '10mb');
  const userStorageQuotaBytes = r.bytes('USER_STORAGE_QUOTA_BYTES', 100 * 1024 * 1024, '100mb');

  const aiProvider = r.oneOf<AiProvider>('AI_PROVIDER', ['echo', 'openai'], prod ? 'openai' : 'echo');
  const models = r.list('AI_MODELS');
  const openaiBaseUrl = r.str('OPENAI_BASE_URL') ?? 'https://api.openai.com/v1';
  try {
    new URL(openaiBaseUrl);
  } catch {
    r.problems.push('OPENAI_BASE_URL is not a valid URL');
  }

  const captchaSecret = r.str('CAPTCHA_SECRET');
  if (['turnstile', 'hcaptcha', 'recaptcha'].includes(captchaProvider) && captchaSecret === undefined) {
    r.problems.push(`CAPTCHA_SECRET is required with CAPTCHA_PROVIDER=${captchaProvider}`);
  }
  const captchaVerifyUrl = r.str('CAPTCHA_VERIFY_URL');
  if (captchaVerifyUrl !== undefined) {
    try {
      new URL(captchaVerifyUrl);
    } catch {
      r.problems.push('CAPTCHA_VERIFY_URL is not a valid URL');
    }
  }

  const adminEmail = r.str('BOOTSTRAP_ADMIN_EMAIL');
  const adminPassword = env.BOOTSTRAP_ADMIN_PASSWORD; // not trimmed: spaces may be part of it
  if ((adminEmail === undefined) !== (adminPassword === undefined || adminPassword === '')) {
    r.problems.push('BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD must be set together');
  }

  const previousKey = r.str('SECRET_KEY_PREVIOUS');
  if (prod && previousKey !== undefined && previousKey.length < 32) {
    r.problems.push('SECRET_KEY_PREVIOUS must be at least 32 characters in prod');
  }

  const rotatedRaw = r.str('SECRET_KEY_ROTATED_AT');
  let secretKeyRotatedAt = new Date(); // unset: this process's start, the moment the new key took over here
  if (rotatedRaw !== undefined) {
    const at = new Date(rotatedRaw);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(rotatedRaw) || Number.isNaN(at.getTime())) r.problems.push(`SECRET_KEY_ROTATED_AT must be an ISO 8601 date-time such as 2026-12-01T12:00:00Z (got "${rotatedRaw}")`);
    else if (at.getTime() > Date.now() + 3_600_000) r.problems.push('SECRET_KEY_ROTATED_AT must not be in the future (it would keep SECRET_KEY_PREVIOUS working until then)');
    else secretKeyRotatedAt = at;
  } else if (prod && previousKey !== undefined) {
    r.problems.push('SECRET_KEY_ROTATED_AT is required in prod with SECRET_KEY_PREVIOUS (when the new key took over), so the previous key stops working one access-token lifetime later');
  }

  const captchaHostnames = r.list('CAPTCHA_HOSTNAMES').map((h) => h.toLowerCase());

  const redisUrl = r.str('REDIS_URL');
  if (redisUrl !== undefined) {
    try {
      const u = new URL(redisUrl);
      if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') r.problems.push('REDIS_URL must be a redis:// or rediss:// URL');
    } catch {
      r.problems.push('REDIS_URL is not a valid URL');
    }
  }
  const rateLimits = Object.fromEntries(
    Object.entries(RATE_LIMIT_DEFAULTS).map(([key, d]) => [key, r.rate(d.env, { limit: d.limit, duration: d.duration })]),
  ) as Record<RateLimitName, RateLimitSetting>;

  const metricsToken = r.str('METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 16) {
    r.problems.push('METRICS_TOKEN must be at least 16 characters');
  }

  const config: Config = {
    appEnv,
    port: r.int('PORT', 4000, 0, 65535),
    host: r.str('HOST') ?? '0.0.0.0',
    databaseUrl,
    dataDir: path.resolve(r.str('DATA_DIR') ?? './.data'),
    db: {
      statementTimeoutMs: r.int('DB_STATEMENT_TIMEOUT_MS', 5000, 100, 600_000),
      poolMax: r.int('DB_POOL_MAX', 10, 1, 500),
      ssl,
      caFile,
    },
    ...parseSecret(r, appEnv),
    corsOrigins,
    bodyLimitBytes,
    maxUploadBytes,
    uploads: {
      userStorageQuotaBytes,
      maxInFlightPerUser: r.int('UPLOAD_MAX_IN_FLIGHT', 2, 1, 1000),
    },
    logLevel: r.oneOf<LogLevel>('LOG_LEVEL', ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'], 'info'),
    metricsToken,
    trustProxy: r.bool('TRUST_PROXY', false),
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', 9000, 1000, 60_000),
    captcha: {
      provider: captchaProvider,
      difficulty: r.int('CAPTCHA_DIFFICULTY', 100_000, 1, 10_000_000),
      minScore: r.num('CAPTCHA_MIN_SCORE', 0.5, 0, 1),
      // Default: the hosts of CORS_ORIGINS, the pages the widget is allowed to run on.
      hostnames: captchaHostnames.length > 0 ? captchaHostnames : corsOrigins.flatMap((o) => (URL.canParse(o) ? [new URL(o).hostname] : [])),
    },
    ai: {
      provider: aiProvider,
      models: models.length > 0 ? models : aiProvider === 'echo' ? ['echo'] : ['gpt-4o-mini'],
      openaiBaseUrl,
      openaiApiKey: r.str('OPENAI_API_KEY'),
      echoTokenDelayMs: r.int('ECHO_TOKEN_DELAY_MS', 15, 0, 60_000),
      firstTokenTimeoutMs: r.int('AI_FIRST_TOKEN_TIMEOUT_MS', 30_000, 100, 600_000),
      idleTimeoutMs: r.int('AI_IDLE_TIMEOUT_MS', 30_000, 100, 600_000),
      maxContextChars: r.int('AI_MAX_CONTEXT_CHARS', 48_000, 100, 10_000_000),
      maxOutputTokens: r.int('AI_MAX_OUTPUT_TOKENS', 4096, 1, 1_000_000),
    },
    audit: {
      retentionDays: r.int('AUDIT_RETENTION_DAYS', 365, 365, 36_500),
      sweepSeconds: r.int('RETENTION_SWEEP_SECONDS', 3600, 1, 86_400),
      queueMax: r.int('AUDIT_QUEUE_MAX', 10_000, 1, 1_000_000),
      headLogSeconds: r.int('AUDIT_HEAD_LOG_SECONDS', 60, 1, 86_400),
    },
    conversationRetentionDays: r.str('CONVERSATION_RETENTION_DAYS') === undefined ? undefined : r.int('CONVERSATION_RETENTION_DAYS', 0, 1, 36_500),
    chat: {
      maxConcurrentStreams: r.int('CHAT_MAX_CONCURRENT_STREAMS', 3, 1, 1_000_000),
      dailyTokenQuota: r.str('USER_DAILY_TOKEN_QUOTA') === undefined ? undefined : r.int('USER_DAILY_TOKEN_QUOTA', 0, 1, 1_000_000_000),
      staleGenerationSeconds: r.int('GENERATION_STALE_SECONDS', 15, 2, 3600),
    },
    rateLimitScale: r.num('RATE_LIMIT_SCALE', 1, 0.001, 1_000_000),
    auth: {
      secretKeyPrevious: previousKey,
      secretKeyRotatedAt,
      accessTokenTtlSeconds: r.duration('ACCESS_TOKEN_TTL', 900, 1, 86_400),
      refreshTokenTtlSeconds: r.duration('REFRESH_TOKEN_TTL', 14 * 86_400, 60, 365 * 86_400),
      sessionMaxAgeSeconds: r.duration('SESSION_MAX_AGE', 30 * 86_400, 60, 365 * 86_400),
      refreshReuseGraceSeconds: r.int('REFRESH_REUSE_GRACE_SECONDS', 0, 0, 60),
      argon2: {
        // OWASP's floor for argon2id is the minimum: settings may only go up.
        memoryKiB: r.int('ARGON2_MEMORY_KIB', 19_456, 19_456, 4_194_304),
        timeCost: r.int('ARGON2_TIME_COST', 2, 2, 100),
        parallelism: r.int('ARGON2_PARALLELISM', 1, 1, 16),
      },
      loginMaxFailures: r.int('LOGIN_MAX_FAILURES', 5, 1, 1000),
      loginLockMinutes: r.int('LOGIN_LOCK_MINUTES', 15, 1, 10_080),
      argon2MaxConcurrent: r.int('ARGON2_MAX_CONCURRENT', 2, 1, 64),
      argon2MaxQueue: r.int('ARGON2_MAX_QUEUE', 64, 0, 100_000),
      bootstrapAdmin: adminEmail !== undefined && adminPassword ? { email: adminEmail, password: adminPassword } : undefined,
    },
    limits: {
      maxDepth: r.int('MAX_QUERY_DEPTH', 10, 1, 100),
      maxCost: r.int('MAX_QUERY_COST', 1000, 10, 1_000_000),
      maxAliases: r.int('MAX_ALIASES', 15, 0, 1000),
      allowIntrospection: r.bool('ALLOW_INTROSPECTION', false),
      persistedQueriesOnly: r.bool('PERSISTED_QUERIES_ONLY', false),
      persistedQueriesFile: path.resolve(r.str('PERSISTED_QUERIES_FILE') ?? 'persisted-queries.json'),
    },
    rateLimits,
    redisUrl,
    ws: {
      maxConnectionsPerIp: r.int('WS_MAX_CONNECTIONS_PER_IP', 50, 1, 100_000),
      maxSubscriptionsPerConnection: r.int('WS_MAX_SUBSCRIPTIONS_PER_CONNECTION', 25, 1, 10_000),
    },
    captchaOptions: {
      ttlSeconds: r.int('CAPTCHA_TTL_SECONDS', 300, 10, 86_400),
      secret: captchaSecret,
      siteKey: r.str('CAPTCHA_SITE_KEY'),
      verifyUrl: captchaVerifyUrl,
    },
  };

  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}
