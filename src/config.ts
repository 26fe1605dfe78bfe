import { readAuth } from './config/auth';
import { readEncryption } from './config/encryption';
import { ConfigReader } from './config/readers';
import { readAi, readCaptcha, readChatAndRetention, readDatabase, readLimits, readServer, readUploads } from './config/sections';
import type { AppEnv, Config } from './config/types';

export type { AiProvider, AppEnv, EncryptionKey, CaptchaProvider, Config, DatabaseSsl, LogLevel } from './config/types';
export { RATE_LIMIT_DEFAULTS, type RateLimitName } from './config/rate-limits';
export { parseByteSize, parseDuration, type RateLimitSetting } from './config/readers';

/** Every invalid setting found, so an operator fixes them all in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Secrets that appear in examples and tutorials; refusing them in prod stops copy-paste deployments. */
const PLACEHOLDER_SECRETS = [
  'changeme',
  'change-me',
  'change_me',
  'changethis',
  'secret',
  'secretkey',
  'secret-key',
  'secret_key',
  'your-secret-key',
  'your_secret_key',
  'yoursecretkey',
  'mysecret',
  'supersecret',
  'password',
  'placeholder',
  'example',
  'default',
  'insecure',
  'development',
  'test',
  'replace-me',
  'todo',
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

/** The signing keys prod accepts: given, long, and not a placeholder. */
function refuseWeakKeysInProd(r: ConfigReader, config: Config): void {
  if (config.secretKeyGenerated) r.problem('SECRET_KEY is required in prod (at least 32 random characters)');
  else if (config.secretKey.length < 32) r.problem(`SECRET_KEY must be at least 32 characters in prod (got ${config.secretKey.length})`);
  else if (isPlaceholderSecret(config.secretKey)) r.problem('SECRET_KEY looks like a placeholder; use at least 32 random characters in prod');

  const previousKey = config.auth.secretKeyPrevious;
  if (previousKey !== undefined && previousKey.length < 32) r.problem('SECRET_KEY_PREVIOUS must be at least 32 characters in prod');
  if (previousKey !== undefined && r.str('SECRET_KEY_ROTATED_AT') === undefined) {
    r.problem(
      'SECRET_KEY_ROTATED_AT is required in prod with SECRET_KEY_PREVIOUS (when the new key took over), so the previous key stops working one access-token lifetime later',
    );
  }
}

/** What prod refuses whatever else is right: weak keys, the embedded database, any browser origin, no captcha. */
function refuseInProd(r: ConfigReader, config: Config): void {
  refuseWeakKeysInProd(r, config);
  if (r.str('DATABASE_URL') === undefined) r.problem('DATABASE_URL is required in prod (the embedded PostgreSQL is for development only)');
  if (config.corsOrigins.length === 0) r.problem('CORS_ORIGINS is required in prod: a comma list of the exact browser origins allowed to call the API');
  if (config.captcha.provider === 'none') r.problem('CAPTCHA_PROVIDER=none disables the captcha, which is refused in prod');
}

/** Parses and validates the environment; throws ConfigError listing every problem found. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const r = new ConfigReader(env);
  const appEnv = r.oneOf<AppEnv>('APP_ENV', ['dev', 'test', 'prod'], 'dev');
  const server = readServer(r);
  const config: Config = {
    appEnv,
    ...server,
    ...readDatabase(r),
    ...readUploads(r),
    ...readCaptcha(r, server.corsOrigins),
    ai: readAi(r, appEnv),
    ...readChatAndRetention(r),
    ...readAuth(r),
    ...readEncryption(r, appEnv),
    ...readLimits(r),
  };
  if (appEnv === 'prod') refuseInProd(r, config);
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return config;
}
