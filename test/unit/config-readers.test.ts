import { RATE_LIMIT_DEFAULTS, readRateLimits } from '../../src/config/rate-limits';
import { ConfigReader, isExactOrigin, parseByteSize, parseDuration, parseRate } from '../../src/config/readers';

/** A reader over `env` alone: no process environment, no I/O. */
function reader(env: Record<string, string>): ConfigReader {
  return new ConfigReader(env);
}

describe('parsers', () => {
  it('reads durations in seconds, minutes, hours and days', () => {
    expect(parseDuration('900')).toBe(900);
    expect(parseDuration('30s')).toBe(30);
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration('1H')).toBe(3600);
    expect(parseDuration(' 14d ')).toBe(14 * 86_400);
  });

  it('refuses malformed, zero and negative durations', () => {
    for (const raw of ['', '0', '0m', '-5', '1.5h', '2w', 'soon', '15 minutes']) expect(parseDuration(raw)).toBeUndefined();
  });

  it('reads sizes in bytes, kb, mb and gb (binary multiples)', () => {
    expect(parseByteSize('2048')).toBe(2048);
    expect(parseByteSize('512kb')).toBe(512 * 1024);
    expect(parseByteSize('1.5KB')).toBe(1536);
    expect(parseByteSize('10 mb')).toBe(10 * 1024 ** 2);
    expect(parseByteSize('1gb')).toBe(1024 ** 3);
  });

  it('refuses malformed, zero and negative sizes', () => {
    for (const raw of ['', '0', '0.0001', '-1', '1tb', 'lots', '1e6']) expect(parseByteSize(raw)).toBeUndefined();
  });

  it('reads rates as limit/seconds within one day', () => {
    expect(parseRate('10/60')).toEqual({ limit: 10, duration: 60 });
    expect(parseRate('5 / 86400')).toEqual({ limit: 5, duration: 86_400 });
    for (const raw of ['0/60', '10/0', '10/86401', '10', '10/1m', '-1/60', 'ten/60']) expect(parseRate(raw)).toBeUndefined();
  });

  it('knows an exact origin from a URL with a path', () => {
    expect(isExactOrigin('https://app.example.com')).toBe(true);
    expect(isExactOrigin('http://localhost:5173')).toBe(true);
    for (const raw of ['https://app.example.com/', 'https://app.example.com/path', 'ftp://files.example.com', 'app.example.com', 'HTTPS://APP.EXAMPLE.COM']) {
      expect(isExactOrigin(raw)).toBe(false);
    }
  });
});

describe('ConfigReader', () => {
  it('trims strings and treats blank as unset; untrimmed keeps spaces', () => {
    const r = reader({ A: '  x  ', B: '   ', P: ' pass word ', Q: '' });
    expect(r.str('A')).toBe('x');
    expect(r.str('B')).toBeUndefined();
    expect(r.str('MISSING')).toBeUndefined();
    expect(r.untrimmed('P')).toBe(' pass word ');
    expect(r.untrimmed('Q')).toBeUndefined();
    expect(r.problems).toEqual([]);
  });

  it('reads whole numbers within bounds, and records the rest with the fallback returned', () => {
    const r = reader({ OK: '42', FRACTION: '1.5', WORD: 'abc', LOW: '0', HIGH: '101' });
    expect(r.int('OK', 7, 1, 100)).toBe(42);
    expect(r.int('UNSET', 7, 1, 100)).toBe(7);
    expect(r.int('UNSET', undefined, 1, 100)).toBeUndefined();
    for (const name of ['FRACTION', 'WORD', 'LOW', 'HIGH']) expect(r.int(name, 7, 1, 100)).toBe(7);
    expect(r.problems).toHaveLength(4);
    expect(r.problems[0]).toBe('FRACTION must be a whole number from 1 to 100 (got "1.5")');
  });

  it('reads finite numbers within bounds', () => {
    const r = reader({ OK: '0.25', INF: 'Infinity', NAN: 'NaN', HIGH: '1.01' });
    expect(r.num('OK', 0.5, 0, 1)).toBe(0.25);
    for (const name of ['INF', 'NAN', 'HIGH']) expect(r.num(name, 0.5, 0, 1)).toBe(0.5);
    expect(r.problems).toEqual([
      'INF must be a number from 0 to 1 (got "Infinity")',
      'NAN must be a number from 0 to 1 (got "NaN")',
      'HIGH must be a number from 0 to 1 (got "1.01")',
    ]);
  });

  it('reads booleans in any case and refuses anything else', () => {
    const r = reader({ Y: 'YES', ON: 'on', ZERO: '0', F: 'False', MAYBE: 'maybe' });
    expect([r.bool('Y', false), r.bool('ON', false), r.bool('ZERO', true), r.bool('F', true), r.bool('UNSET', true)]).toEqual([true, true, false, false, true]);
    expect(r.bool('MAYBE', false)).toBe(false);
    expect(r.problems).toEqual(['MAYBE must be true or false (got "maybe")']);
  });

  it('reads one of a fixed set, case-sensitively', () => {
    const r = reader({ LEVEL: 'debug', LOUD: 'DEBUG' });
    expect(r.oneOf('LEVEL', ['info', 'debug'], 'info')).toBe('debug');
    expect(r.oneOf('LOUD', ['info', 'debug'], 'info')).toBe('info');
    expect(r.problems).toEqual(['LOUD must be one of info, debug (got "DEBUG")']);
  });

  it('reads sizes and names an example when malformed', () => {
    const r = reader({ BODY: '2mb', BAD: 'lots' });
    expect(r.bytes('BODY', 1, '1mb')).toBe(2 * 1024 ** 2);
    expect(r.bytes('BAD', 1, '1mb or 524288')).toBe(1);
    expect(r.problems).toEqual(['BAD must be a size such as 1mb or 524288 (got "lots")']);
  });

  it('reads durations with units within bounds', () => {
    const r = reader({ TTL: '15m', LONG: '2d', BAD: 'soon' });
    expect(r.duration('TTL', 60, 1, 86_400)).toBe(900);
    expect(r.duration('LONG', 60, 1, 86_400)).toBe(60);
    expect(r.duration('BAD', 60, 1, 86_400)).toBe(60);
    expect(r.problems).toEqual([
      'LONG must be a duration such as 900, 15m, 1h or 14d, from 1 to 86400 seconds (got "2d")',
      'BAD must be a duration such as 900, 15m, 1h or 14d, from 1 to 86400 seconds (got "soon")',
    ]);
  });

  it('reads rates, and hands out a fresh copy of the fallback', () => {
    const fallback = { limit: 5, duration: 60 };
    const r = reader({ OK: '3/10', BAD: '3 per 10' });
    expect(r.rate('OK', fallback)).toEqual({ limit: 3, duration: 10 });
    const unset = r.rate('UNSET', fallback);
    expect(unset).toEqual(fallback);
    expect(unset).not.toBe(fallback);
    expect(r.rate('BAD', fallback)).toEqual(fallback);
    expect(r.problems).toEqual(['BAD must be "limit/seconds" such as 10/60 (got "3 per 10")']);
  });

  it('reads URLs, of the allowed schemes when a rule is given', () => {
    const postgres = { protocols: ['postgres:', 'postgresql:'], expected: 'a postgres:// URL' };
    const r = reader({ PG: 'postgresql://u:p@db/x', API: 'https://api.example.com/v1', MYSQL: 'mysql://x', JUNK: 'not a url' });
    expect(r.url('PG', postgres)).toBe('postgresql://u:p@db/x');
    expect(r.url('API')).toBe('https://api.example.com/v1');
    expect(r.url('UNSET')).toBeUndefined();
    expect(r.url('MYSQL', postgres)).toBeUndefined();
    expect(r.url('JUNK')).toBeUndefined();
    expect(r.problems).toEqual(['MYSQL must be a postgres:// URL', 'JUNK is not a valid URL']);
  });

  it('reads a list of exact origins, returning every entry and recording each bad one', () => {
    const r = reader({ CORS: ' https://a.example.com , https://b.example.com/path,,' });
    expect(r.origins('CORS')).toEqual(['https://a.example.com', 'https://b.example.com/path']);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(/^CORS entry "https:\/\/b\.example\.com\/path" must be an exact origin/);
  });

  it('reads ISO 8601 date-times only', () => {
    const r = reader({ AT: '2026-12-01T12:00:00Z', DAY: '2026-12-01', JUNK: '2026-13-45T99:00:00Z' });
    expect(r.dateTime('AT')?.toISOString()).toBe('2026-12-01T12:00:00.000Z');
    expect(r.dateTime('DAY')).toBeUndefined();
    expect(r.dateTime('JUNK')).toBeUndefined();
    expect(r.dateTime('UNSET')).toBeUndefined();
    expect(r.problems.map((p) => p.split(' ')[0])).toEqual(['DAY', 'JUNK']);
  });

  it('reads comma lists, trimming entries and dropping empty ones', () => {
    expect(reader({ L: ' a, b ,,c ' }).list('L')).toEqual(['a', 'b', 'c']);
    expect(reader({}).list('L')).toEqual([]);
  });

  it('collects every problem rather than stopping at the first', () => {
    const r = reader({ A: 'x', B: 'y', C: 'z' });
    r.int('A', 0, 0, 1);
    r.bool('B', false);
    r.problem('a rule across settings');
    r.duration('C', 1, 1, 2);
    expect(r.problems).toHaveLength(4);
  });
});

describe('rate limits', () => {
  it('default to RATE_LIMIT_DEFAULTS and read each RATE_LIMIT_* as limit/seconds', () => {
    const r = reader({ RATE_LIMIT_LOGIN: '3/30', RATE_LIMIT_EXPORT: 'often' });
    const limits = readRateLimits(r);
    expect(Object.keys(limits).sort()).toEqual(Object.keys(RATE_LIMIT_DEFAULTS).sort());
    expect(limits.login).toEqual({ limit: 3, duration: 30 });
    expect(limits.export).toEqual({ limit: RATE_LIMIT_DEFAULTS.export.limit, duration: RATE_LIMIT_DEFAULTS.export.duration });
    expect(limits.cost).toEqual({ limit: 20_000, duration: 60 });
    expect(r.problems).toEqual(['RATE_LIMIT_EXPORT must be "limit/seconds" such as 10/60 (got "often")']);
  });
});
