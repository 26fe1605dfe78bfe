import { GraphQLError } from 'graphql';

/** Node socket codes of a database that cannot be reached (stopped, restarting, network gone). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
/** SQLSTATEs of a server going away: admin_shutdown, crash_shutdown, cannot_connect_now. */
const SHUTDOWN_STATES = new Set(['57P01', '57P02', '57P03']);
/** pg's and knex's own words for a lost or unobtainable connection. */
const LOST = /^(Connection terminated|Knex: Timeout acquiring a connection|Client has encountered a connection error|timeout exceeded when trying to connect)/;

/** What a request that met an unreachable database reads outside prod (prod says only "Internal server error"). */
export const DATABASE_UNAVAILABLE = 'Database unavailable; try again shortly';

/**
 * True when `err` (or what it wraps) says the database is unreachable rather than that a
 * statement was wrong. Duck-typed, not `instanceof Error`: errors cross realms (graphql-js
 * wraps a value from another realm as "Unexpected error value").
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 3) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; thrownValue?: unknown; originalError?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && (SOCKET_CODES.has(e.code) || SHUTDOWN_STATES.has(e.code))) return true;
  if (e.name === 'KnexTimeoutError' || (typeof e.message === 'string' && LOST.test(e.message))) return true;
  return [e.thrownValue, e.originalError, e.cause].some((inner) => isDatabaseUnavailable(inner, depth + 1));
}

/** A 503 with Retry-After for a request refused because the database is unreachable (Apollo reads `extensions.http`). */
export function databaseUnavailableError(cause: unknown): GraphQLError {
  return new GraphQLError(DATABASE_UNAVAILABLE, {
    originalError: cause instanceof Error ? cause : undefined,
    extensions: { code: 'INTERNAL_SERVER_ERROR', http: { status: 503, headers: new Map([['retry-after', '5']]) } },
  });
}
