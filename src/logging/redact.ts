/** What replaces a secret in a log entry. */
export const REDACTED = '[REDACTED]';

// Key names (compared without case, `-` or `_`) whose values are secrets wherever they appear.
const SECRET_KEY_PATTERN =
  /^(authorization|proxyauthorization|cookie|setcookie|password|passwd|pwd|newpassword|currentpassword|oldpassword|token|accesstoken|refreshtoken|idtoken|sessiontoken|csrftoken|captcha|secret|clientsecret|secretkey|secretkeyprevious|apikey|xapikey|privatekey|encryptionkey|dataencryptionkeys|key|keys|signature|otp|pin)$|(password|token|secret|apikey|privatekey)$/;

const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]+:)[^@/\s]+@/gi;

const MAX_DEPTH = 10;

/** True when a field with this name holds a secret and must never be logged. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key.toLowerCase().replace(/[-_\s]/g, ''));
}

/** Masks bearer credentials, JWTs and passwords inside URLs that sit in free text. */
export function redactString(value: string): string {
  return value.replace(BEARER, `$1 ${REDACTED}`).replace(JWT, REDACTED).replace(URL_CREDENTIALS, `$1${REDACTED}@`);
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
