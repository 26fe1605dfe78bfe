import path from 'node:path';
import type { ConfigReader } from './readers';
import { readRateLimits } from './rate-limits';
import type { AiProvider, AppEnv, CaptchaProvider, Config, DatabaseSsl, LogLevel } from './types';

/** The database: an external PostgreSQL (DATABASE_URL) or the embedded one under DATA_DIR. */
export function readDatabase(r: ConfigReader): Pick<Config, 'databaseUrl' | 'dataDir' | 'db'> {
  return {
    databaseUrl: r.url('DATABASE_URL', { protocols: ['postgres:', 'postgresql:'], expected: 'a postgres:// URL' }),
    dataDir: path.resolve(r.str('DATA_DIR') ?? './.data'),
    db: {
      statementTimeoutMs: r.int('DB_STATEMENT_TIMEOUT_MS', 5000, 100, 600_000),
      poolMax: r.int('DB_POOL_MAX', 10, 1, 500),
      ssl: r.oneOf<DatabaseSsl>('DATABASE_SSL', ['disable', 'require', 'verify-full'], 'disable'),
      caFile: r.str('DATABASE_CA_FILE'),
    },
  };
}

type ServerSettings =
  'port' | 'host' | 'corsOrigins' | 'bodyLimitBytes' | 'logLevel' | 'metricsToken' | 'trustProxy' | 'shutdownTimeoutMs' | 'redisUrl' | 'ws' | 'webDir';

/** The listening server: address, CORS, body limit, logs, metrics, proxy trust, shutdown, Redis, sockets and the built web client. */
export function readServer(r: ConfigReader): Pick<Config, ServerSettings> {
  const metricsToken = r.str('METRICS_TOKEN');
  if (metricsToken !== undefined && metricsToken.length < 16) r.problem('METRICS_TOKEN must be at least 16 characters');
  return {
    port: r.int('PORT', 4000, 0, 65535),
    host: r.str('HOST') ?? '0.0.0.0',
    corsOrigins: r.origins('CORS_ORIGINS'),
    bodyLimitBytes: r.bytes('BODY_LIMIT', 1024 * 1024, '1mb or 524288'),
    logLevel: r.oneOf<LogLevel>('LOG_LEVEL', ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'], 'info'),
    metricsToken,
    trustProxy: r.bool('TRUST_PROXY', false),
    shutdownTimeoutMs: r.int('SHUTDOWN_TIMEOUT_MS', 9000, 1000, 60_000),
    redisUrl: r.url('REDIS_URL', { protocols: ['redis:', 'rediss:'], expected: 'a redis:// or rediss:// URL' }),
    ws: {
      maxConnectionsPerIp: r.int('WS_MAX_CONNECTIONS_PER_IP', 50, 1, 100_000),
      maxSubscriptionsPerConnection: r.int('WS_MAX_SUBSCRIPTIONS_PER_CONNECTION', 25, 1, 10_000),
      expiredGraceSeconds: r.int('WS_EXPIRED_GRACE_SECONDS', 300, 1, 86_400),
    },
    webDir: path.resolve(r.str('WEB_DIR') ?? 'web/dist'),
  };
}

/** Uploads: the size of one file, the stored bytes per user, and uploads under way per user. */
export function readUploads(r: ConfigReader): Pick<Config, 'maxUploadBytes' | 'uploads'> {
  return {
    maxUploadBytes: r.bytes('MAX_UPLOAD_BYTES', 10 * 1024 * 1024, '10mb'),
    uploads: {
      userStorageQuotaBytes: r.bytes('USER_STORAGE_QUOTA_BYTES', 100 * 1024 * 1024, '100mb'),
      maxInFlightPerUser: r.int('UPLOAD_MAX_IN_FLIGHT', 2, 1, 1000),
    },
  };
}

const SITEVERIFY_PROVIDERS: readonly CaptchaProvider[] = ['turnstile', 'hcaptcha', 'recaptcha'];

/** The captcha; its hostnames default to the hosts of `corsOrigins`, the pages the widget may run on. */
export function readCaptcha(r: ConfigReader, corsOrigins: string[]): Pick<Config, 'captcha' | 'captchaOptions'> {
  const provider = r.oneOf<CaptchaProvider>('CAPTCHA_PROVIDER', ['altcha', 'turnstile', 'hcaptcha', 'recaptcha', 'none'], 'altcha');
  const secret = r.str('CAPTCHA_SECRET');
  if (SITEVERIFY_PROVIDERS.includes(provider) && secret === undefined) r.problem(`CAPTCHA_SECRET is required with CAPTCHA_PROVIDER=${provider}`);
  const hostnames = r.list('CAPTCHA_HOSTNAMES').map((h) => h.toLowerCase());
  return {
    captcha: {
      provider,
      difficulty: r.int('CAPTCHA_DIFFICULTY', 100_000, 1, 10_000_000),
      minScore: r.num('CAPTCHA_MIN_SCORE', 0.5, 0, 1),
      hostnames: hostnames.length > 0 ? hostnames : corsOrigins.flatMap((o) => (URL.canParse(o) ? [new URL(o).hostname] : [])),
    },
    captchaOptions: {
      ttlSeconds: r.int('CAPTCHA_TTL_SECONDS', 300, 10, 86_400),
      secret,
      siteKey: r.str('CAPTCHA_SITE_KEY'),
      verifyUrl: r.url('CAPTCHA_VERIFY_URL'),
    },
  };
}

/** The model provider (OpenAI by default in prod, the echo model elsewhere), its models and timeouts. */
export function readAi(r: ConfigReader, appEnv: AppEnv): Config['ai'] {
  const provider = r.oneOf<AiProvider>('AI_PROVIDER', ['echo', 'openai'], appEnv === 'prod' ? 'openai' : 'echo');
  const models = r.list('AI_MODELS');
  return {
    provider,
    models: models.length > 0 ? models : provider === 'echo' ? ['echo'] : ['gpt-4o-mini'],
    openaiBaseUrl: r.url('OPENAI_BASE_URL') ?? 'https://api.openai.com/v1',
    openaiApiKey: r.str('OPENAI_API_KEY'),
    echoTokenDelayMs: r.int('ECHO_TOKEN_DELAY_MS', 15, 0, 60_000),
    firstTokenTimeoutMs: r.int('AI_FIRST_TOKEN_TIMEOUT_MS', 30_000, 100, 600_000),
    idleTimeoutMs: r.int('AI_IDLE_TIMEOUT_MS', 30_000, 100, 600_000),
    maxContextChars: r.int('AI_MAX_CONTEXT_CHARS', 48_000, 100, 10_000_000),
    maxOutputTokens: r.int('AI_MAX_OUTPUT_TOKENS', 4096, 1, 1_000_000),
    visionModels: r.list('AI_VISION_MODELS'),
  };
}

/** Chat streams and quotas, and how long conversations and audit events are kept. */
export function readChatAndRetention(r: ConfigReader): Pick<Config, 'chat' | 'audit' | 'conversationRetentionDays'> {
  return {
    chat: {
      maxConcurrentStreams: r.int('CHAT_MAX_CONCURRENT_STREAMS', 3, 1, 1_000_000),
      dailyTokenQuota: r.int('USER_DAILY_TOKEN_QUOTA', undefined, 1, 1_000_000_000),
      staleGenerationSeconds: r.int('GENERATION_STALE_SECONDS', 15, 2, 3600),
      streamStallSeconds: r.int('CHAT_STREAM_STALL_SECONDS', 30, 1, 3600),
    },
    audit: {
      retentionDays: r.int('AUDIT_RETENTION_DAYS', 365, 365, 36_500),
      sweepSeconds: r.int('RETENTION_SWEEP_SECONDS', 3600, 1, 86_400),
      queueMax: r.int('AUDIT_QUEUE_MAX', 10_000, 1, 1_000_000),
      headLogSeconds: r.int('AUDIT_HEAD_LOG_SECONDS', 60, 1, 86_400),
    },
    conversationRetentionDays: r.int('CONVERSATION_RETENTION_DAYS', undefined, 1, 36_500),
  };
}

/** Query limits (depth, cost, aliases, introspection, trusted documents) and the rate limits. */
export function readLimits(r: ConfigReader): Pick<Config, 'limits' | 'rateLimitScale' | 'rateLimits'> {
  return {
    limits: {
      maxDepth: r.int('MAX_QUERY_DEPTH', 10, 1, 100),
      maxCost: r.int('MAX_QUERY_COST', 1000, 10, 1_000_000),
      maxAliases: r.int('MAX_ALIASES', 15, 0, 1000),
      allowIntrospection: r.bool('ALLOW_INTROSPECTION', false),
      persistedQueriesOnly: r.bool('PERSISTED_QUERIES_ONLY', false),
      persistedQueriesFile: path.resolve(r.str('PERSISTED_QUERIES_FILE') ?? 'persisted-queries.json'),
    },
    rateLimitScale: r.num('RATE_LIMIT_SCALE', 1, 0.001, 1_000_000),
    rateLimits: readRateLimits(r),
  };
}
