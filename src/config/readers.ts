/** A rate limit: `limit` operations per `duration` seconds. */
export interface RateLimitSetting {
  limit: number;
  duration: number;
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

/** Parses `limit/seconds` such as `10/60` (limit ≥ 1, 1 to 86 400 seconds); undefined when malformed. */
export function parseRate(raw: string): RateLimitSetting | undefined {
  const m = /^(\d+)\s*\/\s*(\d+)$/.exec(raw);
  if (!m) return undefined;
  const limit = Number(m[1]);
  const duration = Number(m[2]);
  return limit >= 1 && duration >= 1 && duration <= 86_400 ? { limit, duration } : undefined;
}

/** True when `raw` is exactly an http(s) origin: scheme, host, optional port, no path. */
export function isExactOrigin(raw: string): boolean {
  if (!URL.canParse(raw)) return false;
  const u = new URL(raw);
  return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === raw;
}

/** What a URL setting must look like: its allowed schemes (with the colon) and how to say so. */
export interface UrlRule {
  protocols: readonly string[];
  /** Completes "NAME must be …", such as `a postgres:// URL`. */
  expected: string;
}

/**
 * Typed readers over one environment. Each reads one variable by its literal name (the docs
 * test finds every variable through these calls), returns the fallback when it is unset or
 * malformed, and records what was wrong in `problems`, so every mistake is listed at once.
 */
export class ConfigReader {
  readonly problems: string[] = [];
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** Records a problem found across settings (a missing pair, a prod refusal). */
  problem(message: string): void {
    this.problems.push(message);
  }

  /** The trimmed value; undefined when unset or blank. */
  str(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  /** The value exactly as given (a password's spaces are part of it); undefined when unset or empty. */
  untrimmed(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v === '' ? undefined : v;
  }

  /** One of `allowed`, case-sensitive. */
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.str(name);
    if (v === undefined) return fallback;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.problem(`${name} must be one of ${allowed.join(', ')} (got "${v}")`);
    return fallback;
  }

  /** A whole number from `min` to `max`; the fallback may be undefined for an optional setting. */
  int<F extends number | undefined>(name: string, fallback: F, min: number, max: number): number | F {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problem(`${name} must be a whole number from ${min} to ${max} (got "${v}")`);
      return fallback;
    }
    return n;
  }

  /** A finite number from `min` to `max`. */
  num(name: string, fallback: number, min: number, max: number): number {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) {
      this.problem(`${name} must be a number from ${min} to ${max} (got "${v}")`);
      return fallback;
    }
    return n;
  }

  /** `1/true/yes/on` or `0/false/no/off`, any case. */
  bool(name: string, fallback: boolean): boolean {
    const v = this.str(name)?.toLowerCase();
    if (v === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    this.problem(`${name} must be true or false (got "${v}")`);
    return fallback;
  }

  /** A size such as `10mb`, `512kb` or `1048576`, in bytes; `example` is shown when it is malformed. */
  bytes(name: string, fallback: number, example: string): number {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const bytes = parseByteSize(v);
    if (bytes === undefined) {
      this.problem(`${name} must be a size such as ${example} (got "${v}")`);
      return fallback;
    }
    return bytes;
  }

  /** A duration such as `900`, `15m`, `1h` or `14d`, in seconds, from `min` to `max`. */
  duration(name: string, fallback: number, min: number, max: number): number {
    const v = this.str(name);
    if (v === undefined) return fallback;
    const seconds = parseDuration(v);
    if (seconds === undefined || seconds < min || seconds > max) {
      this.problem(`${name} must be a duration such as 900, 15m, 1h or 14d, from ${min} to ${max} seconds (got "${v}")`);
      return fallback;
    }
    return seconds;
  }

  /** A rate limit written `limit/seconds`, such as `10/60`; always a fresh object. */
  rate(name: string, fallback: RateLimitSetting): RateLimitSetting {
    const v = this.str(name);
    if (v === undefined) return { ...fallback };
    const rate = parseRate(v);
    if (rate === undefined) {
      this.problem(`${name} must be "limit/seconds" such as 10/60 (got "${v}")`);
      return { ...fallback };
    }
    return rate;
  }

  /** An absolute URL, of one of `rule.protocols` when given; undefined when unset or malformed. */
  url(name: string, rule?: UrlRule): string | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!URL.canParse(v)) {
      this.problem(`${name} is not a valid URL`);
      return undefined;
    }
    if (rule && !rule.protocols.includes(new URL(v).protocol)) {
      this.problem(`${name} must be ${rule.expected}`);
      return undefined;
    }
    return v;
  }

  /** A comma list of exact http(s) origins; every entry is returned, each malformed one recorded. */
  origins(name: string): string[] {
    const origins = this.list(name);
    for (const o of origins) {
      if (!isExactOrigin(o))
        this.problem(`${name} entry "${o}" must be an exact origin such as https://app.example.com (scheme, host, optional port, no path)`);
    }
    return origins;
  }

  /** An ISO 8601 date-time such as `2026-12-01T12:00:00Z`; undefined when unset or malformed. */
  dateTime(name: string): Date | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    const at = new Date(v);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(v) || Number.isNaN(at.getTime())) {
      this.problem(`${name} must be an ISO 8601 date-time such as 2026-12-01T12:00:00Z (got "${v}")`);
      return undefined;
    }
    return at;
  }

  /** A comma list, entries trimmed, empty entries dropped. */
  list(name: string): string[] {
    return (this.str(name) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
}
