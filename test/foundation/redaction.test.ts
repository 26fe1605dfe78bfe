import { createLogger } from '../../src/logging/logger';
import { REDACTED, redact } from '../../src/logging/redact';
import { LogCapture } from '../helpers/server';

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLXZhbHVl';

describe('log redaction', () => {
  it('removes a password and a bearer token nested deep in metadata from a real log line', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ level: 'info', stream: logs.stream });
    logger.info('login attempt', {
      request: {
        headers: { Authorization: `Bearer ${JWT}`, 'user-agent': 'jest' },
        body: { variables: { input: { email: 'a@example.com', password: 'correct horse battery staple' } } },
      },
      list: [{ refreshToken: 'r-123456' }, { nested: { deeper: { captcha: 'eyJhbGciOi', api_key: 'sk-live-1' } } }],
      note: `client sent Bearer ${JWT} in a note`,
      dsn: 'postgres://parley:hunter2@db.internal:5432/parley',
    });
    const line = await logs.waitFor((l) => l.message === 'login attempt');
    const raw = logs.raw.find((r) => r.includes('login attempt'))!;
    expect(raw).not.toContain('correct horse');
    expect(raw).not.toContain(JWT);
    expect(raw).not.toContain('r-123456');
    expect(raw).not.toContain('sk-live-1');
    expect(raw).not.toContain('hunter2');
    expect(line).toMatchObject({
      request: { headers: { Authorization: REDACTED, 'user-agent': 'jest' }, body: { variables: { input: { email: 'a@example.com', password: REDACTED } } } },
      list: [{ refreshToken: REDACTED }, { nested: { deeper: { captcha: REDACTED, api_key: REDACTED } } }],
      note: `client sent Bearer ${REDACTED} in a note`,
    });
  });

  it('redacts secrets in logged errors too', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ level: 'info', stream: logs.stream });
    const err = Object.assign(new Error(`upstream refused Bearer ${JWT}`), { token: 'tok-1' });
    logger.error('failure', { err });
    await logs.waitFor((l) => l.message === 'failure');
    const raw = logs.raw.find((r) => r.includes('failure'))!;
    expect(raw).not.toContain(JWT);
    expect(raw).not.toContain('tok-1');
  });

  it('never mutates the caller object and survives cycles', () => {
    const input: Record<string, unknown> = { password: 'p', keep: 1 };
    input.self = input;
    const out = redact(input) as Record<string, unknown>;
    expect(input.password).toBe('p');
    expect(out).toEqual({ password: REDACTED, keep: 1, self: '[Circular]' });
  });

  it('keeps harmless fields whose names only resemble secrets', () => {
    expect(redact({ promptTokens: 3, keyboard: 'x', requestId: 'r' })).toEqual({ promptTokens: 3, keyboard: 'x', requestId: 'r' });
  });
});
