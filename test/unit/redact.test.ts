import { REDACTED, isDatabaseError, isSecretKey, redact, redactDatabaseLog, redactString, safeDatabaseMessage } from '../../src/logging/redact';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLXZhbHVl';

describe('secret key names', () => {
  it('matches secret names whatever their case, dashes or underscores', () => {
    for (const key of [
      'password',
      'Authorization',
      'set-cookie',
      'refresh_token',
      'X-Api-Key',
      'SECRET_KEY_PREVIOUS',
      'newPassword',
      'db_password',
      'githubToken',
      'captcha',
      'signature',
    ]) {
      expect(isSecretKey(key)).toBe(true);
    }
  });

  it('leaves ordinary names alone', () => {
    for (const key of ['email', 'user-agent', 'displayName', 'tokenCount', 'keyId', 'passwordChangedAt', 'monkey']) {
      expect(isSecretKey(key)).toBe(false);
    }
  });
});

describe('redacting free text', () => {
  it('masks bearer and basic credentials, JWTs and passwords in URLs', () => {
    expect(redactString(`Authorization: Bearer ${JWT}`)).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redactString('key pk_Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTA pasted')).toBe(`key ${REDACTED} pasted`);
    expect(redactString('basic dXNlcjpwYXNz')).toBe(`basic ${REDACTED}`);
    expect(redactString(`token=${JWT};`)).toBe(`token=${REDACTED};`);
    expect(redactString('postgres://parley:hunter2@db:5432/parley')).toBe(`postgres://parley:${REDACTED}@db:5432/parley`);
    expect(redactString('plain text, nothing secret')).toBe('plain text, nothing secret');
  });
});

describe('redacting values', () => {
  it('replaces secrets at any depth, in objects, arrays and maps, without touching the input', () => {
    const input = { a: { b: [{ password: 'p', keep: 1 }] }, m: new Map([['apiKey', 'k']]), note: `Bearer ${JWT}` };
    const copy = structuredClone(input);
    expect(redact(input)).toEqual({ a: { b: [{ password: REDACTED, keep: 1 }] }, m: { apiKey: REDACTED }, note: `Bearer ${REDACTED}` });
    expect(input).toEqual(copy);
  });

  it('keeps dates and scalars, summarises buffers, cuts cycles and deep nesting', () => {
    const at = new Date('2026-12-01T00:00:00Z');
    const cyclic: Record<string, unknown> = { n: 1 };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { end: true };
    for (let i = 0; i < 12; i++) deep = { d: deep };
    expect(redact({ at, n: 1, b: true, z: null, u: undefined })).toEqual({ at, n: 1, b: true, z: null, u: undefined });
    expect(redact(Buffer.from('secret'))).toBe('[Buffer 6 bytes]');
    expect(redact(cyclic)).toEqual({ n: 1, self: '[Circular]' });
    expect(JSON.stringify(redact(deep))).toContain('"[Truncated]"');
    expect(JSON.stringify(redact(deep))).not.toContain('end');
  });

  it('redacts an error’s message, stack and secret own fields', () => {
    const err = Object.assign(new Error(`rejected Bearer ${JWT}`), { token: 't', status: 401 });
    const out = redact(err) as Record<string, unknown>;
    expect(out).toMatchObject({ name: 'Error', message: `rejected Bearer ${REDACTED}`, token: REDACTED, status: 401 });
    expect(String(out.stack)).not.toContain(JWT);
  });
});

describe('database errors', () => {
  const dbError = () =>
    Object.assign(new Error(`insert into "user" ("email") values ('a@example.com') - duplicate key value violates unique constraint "user_email_unique"`), {
      name: 'UniqueConstraintViolationException',
      code: '23505',
      severity: 'ERROR',
      detail: 'Key (email)=(a@example.com) already exists.',
      constraint: 'user_email_unique',
      table: 'user',
      password: 'p',
    });

  it('tells a PostgreSQL error from another by its SQLSTATE fields', () => {
    expect(isDatabaseError(dbError())).toBe(true);
    expect(isDatabaseError(Object.assign(new Error('x'), { sqlState: '42P01' }))).toBe(true);
    expect(isDatabaseError(Object.assign(new Error('x'), { code: 'ECONNRESET', severity: 'ERROR' }))).toBe(false);
    expect(isDatabaseError(new Error('x'))).toBe(false);
  });

  it('drops the statement and quoted values from messages and logs', () => {
    expect(safeDatabaseMessage(`select 'x' - value "2026-01-01" out of range`)).toBe('value "[value]" out of range');
    expect(redactDatabaseLog(`ERROR: invalid input syntax for type uuid: 'not-a-uuid'`)).toBe('ERROR: invalid input syntax for type uuid: "[value]"');
  });

  it('logs a database error with its code and constraint but no statement, value or secret', () => {
    const out = redact(dbError()) as Record<string, unknown>;
    expect(out).toMatchObject({
      name: 'UniqueConstraintViolationException',
      code: '23505',
      constraint: 'user_email_unique',
      table: 'user',
      password: REDACTED,
    });
    expect(out.message).toBe('duplicate key value violates unique constraint "[value]"');
    expect(out.detail).toBeUndefined();
    expect(JSON.stringify(out)).not.toContain('a@example.com');
    expect(JSON.stringify(out)).not.toContain('insert into');
  });
});
