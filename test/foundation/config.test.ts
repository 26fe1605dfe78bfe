import { ConfigError, isPlaceholderSecret, loadConfig, parseByteSize } from '../../src/config';
import { spawnServer } from '../helpers/process';

const GOOD_PROD = {
  APP_ENV: 'prod',
  SECRET_KEY: 'Vq3xN9pL2rT8wZ5mK7cH4jF6bD1sG0aY-eU',
  CORS_ORIGINS: 'https://app.example.com',
  DATABASE_URL: 'postgres://parley:pw@db.example.com:5432/parley',
  DATA_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 9).toString('base64')}`,
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration', () => {
  it('accepts a complete prod configuration', () => {
    const config = loadConfig(GOOD_PROD);
    expect(config.appEnv).toBe('prod');
    expect(config.corsOrigins).toEqual(['https://app.example.com']);
    expect(config.secretKeyGenerated).toBe(false);
  });

  it('uses documented defaults in dev', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      appEnv: 'dev',
      port: 4000,
      bodyLimitBytes: 1024 * 1024,
      logLevel: 'info',
      db: { statementTimeoutMs: 5000, poolMax: 10, ssl: 'disable' },
      captcha: { provider: 'altcha' },
      ai: { provider: 'echo', models: ['echo'], echoTokenDelayMs: 15 },
      rateLimitScale: 1,
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toMatch(/\.data$/);
    expect(config.secretKeyGenerated).toBe(true);
  });

  describe('prod refusals name the offending setting', () => {
    it.each([
      ['a short SECRET_KEY', { SECRET_KEY: 'tooShort-123' }, /SECRET_KEY must be at least 32 characters/],
      ['a missing SECRET_KEY', { SECRET_KEY: '' }, /SECRET_KEY is required/],
      ['a placeholder SECRET_KEY', { SECRET_KEY: 'change-me-change-me-change-me-change-me' }, /SECRET_KEY looks like a placeholder/],
      ['a low-entropy SECRET_KEY', { SECRET_KEY: 'a'.repeat(40) }, /SECRET_KEY looks like a placeholder/],
      ['no CORS_ORIGINS', { CORS_ORIGINS: '' }, /CORS_ORIGINS is required/],
      ['no DATABASE_URL', { DATABASE_URL: '' }, /DATABASE_URL is required/],
      ['the captcha disabled', { CAPTCHA_PROVIDER: 'none' }, /CAPTCHA_PROVIDER=none/],
    ])('%s', (_name, override, message) => {
      const problems = problemsOf({ ...GOOD_PROD, ...override });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(message);
    });
  });

  it('lists every problem at once', () => {
    const problems = problemsOf({ APP_ENV: 'prod', PORT: 'abc', LOG_LEVEL: 'loud', DB_POOL_MAX: '0' });
    const text = problems.join('\n');
    for (const name of ['SECRET_KEY', 'CORS_ORIGINS', 'DATABASE_URL', 'DATA_ENCRYPTION_KEYS', 'PORT', 'LOG_LEVEL', 'DB_POOL_MAX']) expect(text).toContain(name);
  });

  it('refuses malformed values in any mode', () => {
    expect(problemsOf({ APP_ENV: 'staging' })[0]).toMatch(/APP_ENV must be one of dev, test, prod/);
    expect(problemsOf({ DATABASE_URL: 'mysql://x' })[0]).toMatch(/DATABASE_URL must be a postgres/);
    expect(problemsOf({ CORS_ORIGINS: 'https://ok.example.com,https://bad.example.com/path' })[0]).toMatch(/bad\.example\.com\/path/);
    expect(problemsOf({ BODY_LIMIT: 'lots' })[0]).toMatch(/BODY_LIMIT/);
    expect(problemsOf({ DATABASE_SSL: 'maybe' })[0]).toMatch(/DATABASE_SSL/);
  });

  it('checks every URL setting, and a malformed DATABASE_URL in prod is one problem, not also a missing one', () => {
    expect(problemsOf({ REDIS_URL: 'http://cache.example.com' })).toEqual(['REDIS_URL must be a redis:// or rediss:// URL']);
    expect(problemsOf({ OPENAI_BASE_URL: 'not a url' })).toEqual(['OPENAI_BASE_URL is not a valid URL']);
    expect(problemsOf({ CAPTCHA_VERIFY_URL: 'siteverify' })).toEqual(['CAPTCHA_VERIFY_URL is not a valid URL']);
    expect(problemsOf({ ...GOOD_PROD, DATABASE_URL: 'nope' })).toEqual(['DATABASE_URL is not a valid URL']);
    expect(loadConfig({ DATABASE_URL: 'postgresql://u:p@db/x', REDIS_URL: 'rediss://cache:6380' })).toMatchObject({
      databaseUrl: 'postgresql://u:p@db/x',
      redisUrl: 'rediss://cache:6380',
    });
  });

  it('keeps the bootstrap admin password exactly as given, and wants it with the email', () => {
    expect(loadConfig({ BOOTSTRAP_ADMIN_EMAIL: ' admin@example.com ', BOOTSTRAP_ADMIN_PASSWORD: ' pass phrase ' }).auth.bootstrapAdmin).toEqual({
      email: 'admin@example.com',
      password: ' pass phrase ',
    });
    expect(problemsOf({ BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com', BOOTSTRAP_ADMIN_PASSWORD: '' })).toEqual([
      'BOOTSTRAP_ADMIN_EMAIL and BOOTSTRAP_ADMIN_PASSWORD must be set together',
    ]);
  });

  it('leaves optional limits unset unless given', () => {
    expect(loadConfig({})).toMatchObject({ conversationRetentionDays: undefined, chat: { dailyTokenQuota: undefined } });
    expect(loadConfig({ CONVERSATION_RETENTION_DAYS: '30', USER_DAILY_TOKEN_QUOTA: '5000' })).toMatchObject({
      conversationRetentionDays: 30,
      chat: { dailyTokenQuota: 5000 },
    });
  });

  it('never accepts the captcha off or embedded database in prod even when other settings are right', () => {
    expect(problemsOf({ ...GOOD_PROD, CAPTCHA_PROVIDER: 'none', DATABASE_URL: '' })).toHaveLength(2);
  });

  it('parses sizes', () => {
    expect(parseByteSize('1mb')).toBe(1048576);
    expect(parseByteSize('512KB')).toBe(524288);
    expect(parseByteSize('2048')).toBe(2048);
    expect(parseByteSize('-1')).toBeUndefined();
    expect(parseByteSize('0')).toBeUndefined();
  });

  it('recognises placeholder secrets but not random ones', () => {
    expect(isPlaceholderSecret('your-secret-key-here-1234567890abcdef')).toBe(true);
    expect(isPlaceholderSecret('SuperSecretPassword_2024_prod_deploy!')).toBe(true);
    expect(isPlaceholderSecret('Vq3xN9pL2rT8wZ5mK7cH4jF6bD1sG0aY-eU')).toBe(false);
  });

  it('makes the real process exit non-zero, naming the setting, before touching any database', async () => {
    const proc = spawnServer({ APP_ENV: 'prod', SECRET_KEY: 'short', CORS_ORIGINS: 'https://app.example.com' });
    const { code } = await proc.exited;
    expect(code).toBe(1);
    expect(proc.stderr()).toMatch(/SECRET_KEY must be at least 32 characters/);
    expect(proc.stderr()).toMatch(/DATABASE_URL is required in prod/);
    expect(proc.lines.some((l) => l.message === 'embedded PostgreSQL started')).toBe(false);
  });
});
