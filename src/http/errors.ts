import type { ErrorRequestHandler, Response } from 'express';
import type { Config } from '../config';
import type { Logger } from '../logging/logger';
import { scopeOf } from '../logging/request-log';
import { INTERNAL_MESSAGE, type ErrorCode } from '../graphql/errors';

/** Sends a GraphQL-shaped error body, so clients parse one format whatever failed; `extensions` adds e.g. a `reason`. */
export function sendGraphQLError(res: Response, status: number, code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): void {
  res
    .status(status)
    .type('application/json')
    .json({ errors: [{ message, extensions: { ...extensions, code, requestId: scopeOf(res)?.requestId } }] });
}

interface HttpError extends Error {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

/** Turns body-parser and other HTTP-layer failures into clear JSON errors; never a stack trace. */
export function httpErrorHandler(config: Config, logger: Logger): ErrorRequestHandler {
  return (err: HttpError, _req, res, next) => {
    const requestId = scopeOf(res)?.requestId;
    if (res.headersSent) return next(err);
    const status = err.status ?? err.statusCode ?? 500;
    switch (err.type) {
      case 'entity.too.large':
        return sendGraphQLError(res, 413, 'BAD_USER_INPUT', `Request body is larger than the ${config.bodyLimitBytes}-byte limit`);
      case 'entity.parse.failed':
        return sendGraphQLError(res, 400, 'BAD_USER_INPUT', 'Request body is not valid JSON');
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return sendGraphQLError(res, 415, 'BAD_USER_INPUT', 'Unsupported body encoding or charset');
      case 'request.aborted':
        return sendGraphQLError(res, 400, 'BAD_USER_INPUT', 'Request was aborted');
    }
    if (status >= 400 && status < 500 && err.expose) {
      return sendGraphQLError(res, status, 'BAD_USER_INPUT', err.message);
    }
    logger.error('unexpected HTTP error', { requestId, err });
    const message = config.appEnv === 'prod' ? INTERNAL_MESSAGE : err.message;
    return sendGraphQLError(res, 500, 'INTERNAL_SERVER_ERROR', message);
  };
}
