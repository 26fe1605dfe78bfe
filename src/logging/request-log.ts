import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Metrics } from '../observability/metrics';
import type { Logger } from './logger';
import { requestIdFrom, requestScope, type RequestScope } from './request-context';

/** The scope of the request `res` answers (set by `requestLog`). */
export function scopeOf(res: Response): RequestScope | undefined {
  return res.locals.scope as RequestScope | undefined;
}

/**
 * Re-enters the request's scope. Stream callbacks (such as body parsing) run in the socket's
 * async context, not the request's, so middleware after them calls this to get it back.
 */
export function reenterScope(): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    const scope = scopeOf(res);
    if (scope) requestScope.run(scope, next);
    else next();
  };
}

/**
 * Gives each request its id (a well-formed incoming `x-request-id`, else a new one, echoed
 * back), and writes one log line and one metrics sample when the response is done.
 */
export function requestLog(logger: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const path = req.path; // routers rewrite req.url while they run; keep the path as requested
    const scope: RequestScope = { requestId: requestIdFrom(req.headers['x-request-id']), ip: req.ip };
    res.locals.scope = scope;
    res.setHeader('x-request-id', scope.requestId);
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const operation = metrics.operationLabel(scope.operationName);
      metrics.httpDuration.observe({ method: req.method, route: metrics.routeLabel(path), status: String(res.statusCode), operation }, seconds);
      logger.info('http request', {
        requestId: scope.requestId,
        method: req.method,
        path,
        status: res.statusCode,
        durationMs: Math.round(seconds * 10_000) / 10,
        ip: scope.ip,
        operationName: scope.operationName,
        userId: scope.userId,
      });
    });
    requestScope.run(scope, next);
  };
}
