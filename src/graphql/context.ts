import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import type { AuthInfo, RequestMeta } from '../auth/auth.service';
import type { Logger } from '../logging/logger';
import type { Services } from '../services';
import { UnauthenticatedError } from './errors';

/** What every resolver receives, built by one function for HTTP and WebSocket alike. */
export interface Context {
  requestId: string;
  ip?: string;
  userAgent?: string;
  transport: 'http' | 'ws';
  logger: Logger;
  /** A fork of the ORM's entity manager, private to this operation. */
  em: EntityManager;
  config: Config;
  services: Services;
  /** The caller, when a valid access token of an active session came with the request. */
  auth: AuthInfo | null;
  /** Why a presented token was not accepted (for the UNAUTHENTICATED message). */
  authProblem?: string;
  cookies: Record<string, string>;
  /** Adds a Set-Cookie header (HTTP only). */
  setCookie?: (value: string) => void;
  /** Reads already recorded in the audit trail for this operation (one record per resource). */
  readsRecorded: Set<string>;
}

/** The process-wide parts a context is built from. */
export interface ContextDeps {
  config: Config;
  logger: Logger;
  em: EntityManager;
  services: Services;
}

/** Per-request facts the transport supplies. */
export interface ContextRequest {
  requestId: string;
  ip?: string;
  userAgent?: string;
  transport: 'http' | 'ws';
  auth?: AuthInfo | null;
  authProblem?: string;
  cookies?: Record<string, string>;
  setCookie?: (value: string) => void;
}

/** Builds the per-operation context: its own `em` fork and a logger tagged with the request id. */
export function buildContext(deps: ContextDeps, req: ContextRequest): Context {
  return {
    requestId: req.requestId,
    ip: req.ip,
    userAgent: req.userAgent,
    transport: req.transport,
    logger: deps.logger.child({ requestId: req.requestId, ...(req.auth ? { userId: req.auth.userId } : {}) }),
    em: deps.em.fork(),
    config: deps.config,
    services: deps.services,
    auth: req.auth ?? null,
    authProblem: req.authProblem,
    cookies: req.cookies ?? {},
    setCookie: req.setCookie,
    readsRecorded: new Set(),
  };
}

/** The caller, or UNAUTHENTICATED saying why not. */
export function requireAuth(ctx: Context): AuthInfo {
  if (!ctx.auth) throw new UnauthenticatedError(ctx.authProblem ?? 'Authentication required');
  return ctx.auth;
}

/** Where the request came from, for sessions and audit records. */
export function requestMeta(ctx: Context): RequestMeta {
  return { ip: ctx.ip, userAgent: ctx.userAgent, requestId: ctx.requestId };
}
