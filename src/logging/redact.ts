/** What replaces a secret in a log entry. */
export const REDACTED = '[REDACTED]';

// Key names (compared without case, `-` or `_`) whose values are secrets wherever they appear.
const SECRET_KEY_PATTERN =
  /^(authorization|proxyauthorization|cookie|setcookie|password|passwd|pwd|newpassword|currentpassword|oldpassword|token|accesstoken|refreshtoken|idtoken|sessiontoken|csrftoken|captcha|secret|clientsecret|secretkey|secretkeyprevious|apikey|xapikey|privatekey|encryptionkey|dataencryptionkeys|key|keys|signature|otp|pin)$|(password|token|secret|apikey|privatekey)$/;

const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
/** A Parley API key secret (`pk_` and base64url), wherever it was pasted. */
const API_KEY = /\bpk_[A-Za-z0-9_-]{16,}/g;
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]+:)[^@/\s]+@/gi;

const MAX_DEPTH = 10;

/** A quoted literal in a PostgreSQL message (`out of range: "-271821-04-20…"`) or SQL text: a value. */
const QUOTED_VALUE = /'(?:[^']|'')*'|"[^"]*"/g;
/** The PostgreSQL fields that carry statement text or row values; the others (code, table, constraint, routine…) are kept. */
const DB_VALUE_FIELDS = new Set(['detail', 'where', 'internalQuery', 'hint', 'query', 'sql', 'params', 'parameters', 'bindings', 'sqlMessage']);

/** True for an error from PostgreSQL (pg's DatabaseError, or MikroORM's exceptions that copy its fields). */
export function isDatabaseError(err: Error): boolean {
  const e = err as Error & { code?: unknown; severity?: unknown; sqlState?: unknown };
  return typeof e.sqlState === 'string' || (typeof e.severity === 'string' && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code));
}

/**
 * A database error's message without its statement or values: knex prefixes the SQL (with
 * its parameters written in) as `<sql> - <message>`, and PostgreSQL quotes offending values.
 */
export function safeDatabaseMessage(message: string): string {
  const cut = message.lastIndexOf(' - ');
  return (cut >= 0 ? message.slice(cut + 3) : message).replace(QUOTED_VALUE, '"[value]"');
}

/** PostgreSQL's own log output, without the values it quotes. */
export function redactDatabaseLog(text: string): string {
  return text.replace(QUOTED_VALUE, '"[value]"');
}

/** A database error as logged: its name, SQLSTATE, safe message and fields, the stack's frames only. */
function redactDatabaseError(err: Error): Record<string, unknown> {
  const message = safeDatabaseMessage(err.message);
  const frames = (err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
  const out: Record<string, unknown> = { name: err.name, message, stack: [`${err.name}: ${message}`, ...frames].join('\n') };
  for (const [k, v] of Object.entries(err)) {
    if (!DB_VALUE_FIELDS.has(k) && (v === null || typeof v !== 'object'))
      out[k] = isSecretKey(k) ? REDACTED : typeof v === 'string' ? safeDatabaseMessage(v) : v;
  }
  return out;
}

/** True when a field with this name holds a secret and must never be logged. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key.toLowerCase().replace(/[-_\s]/g, ''));
}

/** Masks bearer credentials, JWTs, API keys and passwords inside URLs that sit in free text. */
export function redactString(value: string): string {
  return value.replace(BEARER, `$1 ${REDACTED}`).replace(JWT, REDACTED).replace(API_KEY, REDACTED).replace(URL_CREDENTIALS, `$1${REDACTED}@`);
}

/** Returns a deep copy of `value` with every secret removed, however deeply nested; never mutates. */
export function redact(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[Truncated]';
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (value instanceof Date) return value;
  if (Buffer.isBuffer(value)) return `[Buffer ${value.length} bytes]`;
  if (value instanceof Error) {
    if (isDatabaseError(value)) return redactDatabaseError(value);
    const out: Record<string, unknown> = { name: value.name, message: redactString(value.message) };
    if (value.stack) out.stack = redactString(value.stack);
    for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) ? REDACTED : redact(v, depth + 1, seen);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1, seen));
  if (value instanceof Map) {
    return redact(Object.fromEntries(value), depth, seen);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSecretKey(k) ? REDACTED : redact(v, depth + 1, seen);
  }
  return out;
}
