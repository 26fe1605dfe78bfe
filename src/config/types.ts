import type { RateLimitSetting } from './readers';
import type { RateLimitName } from './rate-limits';

/** The deployment mode; `prod` turns on every refusal and hides internals. */
export type AppEnv = 'dev' | 'test' | 'prod';
export type DatabaseSsl = 'disable' | 'require' | 'verify-full';
export type CaptchaProvider = 'altcha' | 'turnstile' | 'hcaptcha' | 'recaptcha' | 'none';
export type AiProvider = 'echo' | 'openai';
export type LogLevel = 'error' | 'warn' | 'info' | 'http' | 'verbose' | 'debug' | 'silly';

/** One key-encryption key of DATA_ENCRYPTION_KEYS. */
export interface EncryptionKey {
  id: string;
  key: Buffer;
}

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
  encryption: {
    /** Key-encryption keys (DATA_ENCRYPTION_KEYS), the first current; empty until main fills in the development key. */
    keys: EncryptionKey[];
    /** True when DATA_ENCRYPTION_KEYS was unset (never in prod): the development key in DATA_DIR is used. */
    generated: boolean;
    /** How long unwrapped data keys stay in memory (DATA_KEY_CACHE_TTL); rotate-keys --reencrypt waits at least this long before destroying retired keys. */
    dataKeyCacheSeconds: number;
  };
  /** True when no SECRET_KEY was given and a random one was made for this process (never in prod). */
  secretKeyGenerated: boolean;
  corsOrigins: string[];
  /** The built reference client (`index.html`, `assets/`), served at `/` outside prod only. */
  webDir: string;
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
    /** Models that receive image attachments as image parts; others are told a file was attached. */
    visionModels: string[];
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
    /** A `/v1` SSE client that takes none of the stream for this long is cut off (its reply cancelled). */
    streamStallSeconds: number;
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
  ws: {
    maxConnectionsPerIp: number;
    maxSubscriptionsPerConnection: number;
    /** How long operations running when a socket's token expired may go on (an endless subscription would never end). */
    expiredGraceSeconds: number;
  };
  captchaOptions: {
    ttlSeconds: number;
    secret?: string;
    siteKey?: string;
    verifyUrl?: string;
  };
}
