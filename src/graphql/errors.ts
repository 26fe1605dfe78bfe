import { GraphQLError } from 'graphql';

/** Every `extensions.code` a client can see (API.md "Errors"). */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'RATE_LIMITED',
  'CAPTCHA_INVALID',
  'ACCOUNT_LOCKED',
  'TOKEN_REUSED',
  'QUERY_TOO_DEEP',
  'QUERY_TOO_COMPLEX',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'SLOW_CONSUMER',
  'INTERNAL_SERVER_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * `extensions.reason` of RATE_LIMITED (API.md): which limit refused, so a client knows whether
 * to back off (RATE, COST_BUDGET), wait for a reply to finish (CONCURRENT_STREAMS) or stop for
 * the day (DAILY_QUOTA).
 */
export type RateLimitReason = 'RATE' | 'COST_BUDGET' | 'CONCURRENT_STREAMS' | 'DAILY_QUOTA';

/**
 * `extensions.reason` of UNAUTHENTICATED for a presented token: TOKEN_EXPIRED (refresh and
 * retry), TOKEN_INVALID or SESSION_REVOKED (sign in again).
 */
export type AuthReason = 'TOKEN_EXPIRED' | 'TOKEN_INVALID' | 'SESSION_REVOKED';

/** The message an unexpected error is replaced with in prod. */
export const INTERNAL_MESSAGE = 'Internal server error';

/** A deliberate, client-facing error: its message and code are safe to show as they are. */
export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
    this.name = 'AppError';
  }
}

export class BadUserInputError extends AppError {
  constructor(message: string, extensions: Record<string, unknown> = {}) {
    super('BAD_USER_INPUT', message, extensions);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Authentication required', reason?: AuthReason) {
    super('UNAUTHENTICATED', message, reason ? { reason } : {});
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed') {
    super('FORBIDDEN', message);
  }
}

export class NotFoundError extends AppError {
  constructor(what = 'Resource') {
    super('NOT_FOUND', `${what} not found`);
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number, message = 'Too many requests; try again later', reason: RateLimitReason = 'RATE') {
    super('RATE_LIMITED', message, { reason, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
  }
}

/**
 * A subscriber fell too far behind (its socket stopped reading): that one operation ends; the
 * client resubscribes from where it was (`fromOffset`, `afterSeq`).
 */
export class SlowConsumerError extends AppError {
  constructor(message = 'Subscriber fell too far behind; resubscribe from where you were') {
    super('SLOW_CONSUMER', message);
  }
}
