import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { AppEnv } from '../config';
import type { Logger } from '../logging/logger';
import { isDatabaseError, safeDatabaseMessage } from '../logging/redact';
import { DATABASE_UNAVAILABLE, isDatabaseUnavailable } from '../db/unavailable';
import { currentRequestId } from '../logging/request-context';
import { AppError, ERROR_CODES, INTERNAL_MESSAGE, type ErrorCode } from './errors';

/** Apollo's own request-shape codes, reported to clients as BAD_USER_INPUT (API.md's closed list). */
const REQUEST_SHAPE_CODES = new Set(['BAD_REQUEST', 'OPERATION_RESOLUTION_FAILURE', 'PERSISTED_QUERY_NOT_SUPPORTED']);
const KNOWN = new Set<string>(ERROR_CODES);

/**
 * Builds Apollo's `formatError`: deliberate errors pass with their code; anything unexpected
 * is logged in full with the request id and, outside dev, stripped of internals (in prod its
 * message becomes exactly `Internal server error`).
 */
export type FormatError = ReturnType<typeof createFormatError>;

/**
 * Apollo refuses some requests (a persisted-query hash that does not match its document, an
 * unsupported persisted-query version) with an HTTP 400 but no code, which would read as
 * INTERNAL_SERVER_ERROR: they are the client's input, so BAD_USER_INPUT with Apollo's reason.
 */
function isRequestRefusal(error: unknown): boolean {
  if (!(error instanceof GraphQLError) || error.originalError || error.path || error.extensions.code !== undefined) return false;
  return (error.extensions.http as { status?: unknown } | undefined)?.status === 400;
}

/**
 * graphql-js's own refusal of an argument's runtime value, which validation cannot always catch
 * (`$b: Boolean = true` passed to `@include(if: $b)`, then sent as null): the client's input.
 */
const ARGUMENT_COERCION = /^Argument "\w+" (of (required|non-null) type "[^"]+" |has invalid value )/;
function isArgumentCoercion(error: unknown): boolean {
  // Inside a field, graphql-js wraps it once more (with the field's path).
  const inner = error instanceof GraphQLError && error.originalError instanceof GraphQLError ? error.originalError : error;
  return inner instanceof GraphQLError && !inner.originalError && inner.extensions.code === undefined && ARGUMENT_COERCION.test(inner.message);
}

/**
 * graphql-js's refusal of a variable's value (`$from: ""` for an `Int`): a request error with no
 * path. Apollo codes it BAD_USER_INPUT over HTTP; over WebSocket it arrives uncoded.
 */
const VARIABLE_COERCION = /^Variable "\$\w+" (got invalid value |of (required|non-null) type )/;
function isVariableCoercion(error: unknown): boolean {
  return error instanceof GraphQLError && !error.path && error.extensions.code === undefined && VARIABLE_COERCION.test(error.message);
}

export function createFormatError(appEnv: AppEnv, logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown, requestId = currentRequestId()): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    let code = formatted.extensions?.code as string | undefined;
    if (code && REQUEST_SHAPE_CODES.has(code)) code = 'BAD_USER_INPUT';
    if (code === 'UNAUTHORIZED') code = 'FORBIDDEN'; // type-graphql's @Authorized refusal
    if (isRequestRefusal(error) || isArgumentCoercion(error) || isVariableCoercion(error)) code = 'BAD_USER_INPUT';
    if (appEnv === 'prod' && / Did you mean /.test(formatted.message)) {
      formatted = { ...formatted, message: formatted.message.replace(/ Did you mean .*$/, '') };
    }

    const deliberate = original instanceof AppError || (code !== undefined && KNOWN.has(code) && code !== 'INTERNAL_SERVER_ERROR');
    if (deliberate) {
      const { stacktrace, http: _http, ...extensions } = formatted.extensions ?? {};
      void _http;
      // class-validator errors carry the whole input object (passwords included): keep only what failed.
      if (Array.isArray(extensions.validationErrors)) {
        extensions.validationErrors = (extensions.validationErrors as { property?: string; constraints?: unknown }[]).map((v) => ({
          property: v.property,
          constraints: v.constraints,
        }));
      }
      return {
        ...formatted,
        extensions: { ...extensions, code: code as ErrorCode, ...(appEnv === 'dev' && stacktrace ? { stacktrace } : {}) },
      };
    }

    logger.error('unexpected error', { requestId, err: original, path: formatted.path, code });
    if (appEnv === 'prod') {
      return { message: INTERNAL_MESSAGE, extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } };
    }
    // A database error's message and stack hold its SQL with the values written in: never shown;
    // an unreachable database's message names its host and port: never shown either.
    const unavailable = isDatabaseUnavailable(original);
    const dbError = unavailable || (original instanceof Error && isDatabaseError(original));
    return {
      message: unavailable ? DATABASE_UNAVAILABLE : dbError ? safeDatabaseMessage((original as Error).message) : formatted.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions: {
        code: 'INTERNAL_SERVER_ERROR',
        requestId,
        ...(appEnv === 'dev' && !dbError && formatted.extensions?.stacktrace ? { stacktrace: formatted.extensions.stacktrace } : {}),
      },
    };
  };
}
