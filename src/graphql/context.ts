import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import type { Logger } from '../logging/logger';
import type { Services } from '../services';
import { UnauthenticatedError } from './errors';
import type { Role } from './role';

/** Who is calling, from a verified access token whose session is still active. */
export interface AuthInfo {
  userId: string;
  role: Role;
  sessionId: string;
  /** When the access token expires. */
  expiresAt: Date;
}

/** Where a request came from, for sessions and audit records. */
export interface RequestMeta {
  ip?: string;
  userAgent?: string;
  requestId: string;
}

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
  /** What this operation read, by `type:id`: written as one `data.read` event when its result is sent. */
  readsRecorded: Map<string, { type: string; id: string | null }>;
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
    readsRecorded: new Map(),
  };
}

/** Resources one `data.read` event lists; the rest are counted in `total`. */
const MAX_READS_LISTED = 50;

/**
 * Writes the reads of the operation as ONE `data.read` event (aliases and nested fields
 * add ids, not rows), without delaying the answer. Called when a result is sent, on both transports.
 */
export function flushOperationReads(ctx: Context): void {
  if (ctx.readsRecorded.size === 0) return;
  const reads = [...ctx.readsRecorded.values()];
  ctx.readsRecorded.clear();
  const types = new Set(reads.map((r) => r.type));
  ctx.services.audit.recordRead({
    actorId: ctx.auth?.userId ?? null,
    actorRole: ctx.auth?.role ?? null,
    resourceType: types.size === 1 ? reads[0].type : null,
    resourceId: reads.length === 1 ? reads[0].id : null,
    ip: ctx.ip,
    requestId: ctx.requestId,
    metadata: { reads: reads.slice(0, MAX_READS_LISTED), total: reads.length },
  });
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
