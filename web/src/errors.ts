import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';

/** What the server says about a failure, in the shape the screens show. */
export interface Problem {
  code: string;
  message: string;
  reason?: string;
  retryAfterSeconds?: number;
}

interface Extensions {
  code?: unknown;
  reason?: unknown;
  retryAfterSeconds?: unknown;
}

function fromExtensions(message: string, ext: Extensions | undefined): Problem {
  return {
    code: typeof ext?.code === 'string' ? ext.code : 'ERROR',
    message,
    reason: typeof ext?.reason === 'string' ? ext.reason : undefined,
    retryAfterSeconds: typeof ext?.retryAfterSeconds === 'number' ? ext.retryAfterSeconds : undefined,
  };
}

/** The first server error of anything Apollo or fetch threw. */
export function problemOf(error: unknown): Problem {
  if (CombinedGraphQLErrors.is(error) && error.errors.length > 0) {
    const first = error.errors[0];
    return fromExtensions(first.message, first.extensions as Extensions | undefined);
  }
  if (ServerError.is(error)) {
    try {
      const body = JSON.parse(error.bodyText) as { errors?: { message: string; extensions?: Extensions }[] };
      const first = body.errors?.[0];
      if (first) return fromExtensions(first.message, first.extensions);
    } catch {
      // not JSON
    }
    return { code: `HTTP_${error.statusCode}`, message: `The server answered ${error.statusCode}` };
  }
  if (error instanceof Error) return { code: 'NETWORK', message: error.message };
  return { code: 'ERROR', message: String(error) };
}

/** A sentence for people: the server's message, plus when to try again. */
export function describeProblem(p: Problem): string {
  const wait = p.retryAfterSeconds !== undefined ? ` Try again in ${formatSeconds(p.retryAfterSeconds)}.` : '';
  if (p.code === 'RATE_LIMITED' && p.reason === 'DAILY_QUOTA') return `Daily quota used up.${wait}`;
  if (p.code === 'RATE_LIMITED' && p.reason === 'CONCURRENT_STREAMS') return `Too many replies are being written at once; wait for one to finish.${wait}`;
  if (p.code === 'RATE_LIMITED' && p.reason === 'COST_BUDGET') return `Too much work requested in a short time.${wait}`;
  if (p.code === 'RATE_LIMITED') return `Too many requests.${wait}`;
  if (p.code === 'ACCOUNT_LOCKED') return `This account is locked for now.${wait}`;
  if (p.code === 'NETWORK') return 'The server cannot be reached. Check your connection and try again.';
  return `${p.message}${wait}`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.ceil(seconds))} s`;
  if (seconds < 5400) return `${Math.ceil(seconds / 60)} min`;
  return `${Math.ceil(seconds / 3600)} h`;
}
