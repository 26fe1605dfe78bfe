import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import type { Logger } from '../logging/logger';
import { preparedRead } from '../db/prepared';
import { UnauthenticatedError, type AuthReason } from './errors';
import type { Role } from './role';

/** Who is calling, from a verified access token whose session is still active, or from a live API key. */
export interface AuthInfo {
  userId: string;
  role: Role;
  /** The session; for an API key, the key's id (revocations and sockets are tracked by it alike). */
  sessionId: string;
  /** When the access token (or the API key) expires. */
  expiresAt: Date;
  /** How the caller signed in: an interactive session (the default) or an API key, which may do chat, usage and models only. */
  via?: 'session' | 'apiKey';
}

/** True when the caller came with an API key rather than an interactive session. */
export function isApiKeyCaller(auth: AuthInfo | null | undefined): boolean {
  return auth?.via === 'apiKey';
}

/** Where a request came from, for sessions and audit records. */
export interface RequestMeta {
  ip?: string;
  userAgent?: string;
  requestId: string;
}

/** The outcome of checking a request's credentials: the caller, or why none was accepted. */
export interface Authentication {
  auth?: AuthInfo;
  problem?: string;
  /** Why a presented token was refused, for `extensions.reason`. */
  reason?: AuthReason;
}

/** Why a session ended, as its sockets' close reason: an admin lock, or any other revocation. */
export type RevocationKind = 'session_revoked' | 'account_locked';

/**
 * How every transport authenticates (the auth feature implements it): HTTP and uploads per
 * request, a WebSocket once on connect and again before each operation.
 */
export interface RequestAuthenticator {
  /**
   * Checks a bearer `Authorization` value: a valid token of a live session or a live API key, or
   * the problem; never throws for a bad token. `req` says where it came from (refusals are audited).
   */
  authenticate(authorization: string | undefined, req?: { ip?: string; requestId?: string }): Promise<Authentication>;
  /** True while an accepted caller's session (or API key) is live for that user and role (the token's expiry is the transport's to judge). */
  sessionLive(auth: AuthInfo): Promise<boolean>;
  /** Calls `listener` with each revoked session (or API key) id and why, here or on another instance; returns the unsubscribe. */
  onRevoked(listener: (sessionId: string, why: RevocationKind) => void): () => void;
  /** Calls `listener` when revocation notices may have been missed: open sockets should re-check with `sessionLive`. */
  onResync(listener: () => void): () => void;
}

/**
 * The wired services resolvers reach as `ctx.services`. Empty in the kit: src/services.ts fills
 * it in by declaration merging, so the kit names no feature and resolvers keep their types.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ContextServices {}

/** What every resolver receives, built by one function for HTTP and WebSocket alike. */
export interface Context {
  requestId: string;
  ip?: string;
  userAgent?: string;
  transport: 'http' | 'ws';
  logger: Logger;
  /** A fork of the ORM's entity manager, private to this operation (made on first use). */
  em: EntityManager;
  /** Runs a named prepared read on the ORM's pool without entities (src/db/prepared.ts): for hot-path reads only. */
  preparedRead: <T>(name: string, text: string, values: unknown[]) => Promise<T[]>;
  config: Config;
  services: ContextServices;
  /** The caller, when a valid access token of an active session came with the request. */
  auth: AuthInfo | null;
  /** Why a presented token was not accepted (for the UNAUTHENTICATED message). */
  authProblem?: string;
  /** The same as a stable `extensions.reason`. */
  authReason?: AuthReason;
  cookies: Record<string, string>;
  /** Adds a Set-Cookie header (HTTP only). */
  setCookie?: (value: string) => void;
  /** What this operation read, by `type:id`: written as one `data.read` event when its result is sent. */
  readsRecorded: Map<string, { type: string; id: string | null }>;
  /** Records that the caller's API key was refused `operation` (outside its scope): audited by the auth feature. */
  apiKeyRefused: (operation: string) => void;
}

/** The process-wide parts a context is built from. */
export interface ContextDeps {
  config: Config;
  logger: Logger;
  em: EntityManager;
  services: ContextServices;
  /** Audits an API key refused an operation (server.ts wires it to the auth feature); unset: not recorded. */
  onApiKeyRefused?: (ctx: Context, operation: string) => void;
}

/** Per-request facts the transport supplies. */
export interface ContextRequest {
  requestId: string;
  ip?: string;
  userAgent?: string;
  transport: 'http' | 'ws';
  auth?: AuthInfo | null;
  authProblem?: string;
  authReason?: AuthReason;
  cookies?: Record<string, string>;
  setCookie?: (value: string) => void;
}

/**
 * Builds the per-operation context: its own `em` fork and a logger tagged with the request id,
 * both made on first use (an operation answered without entities, such as `me`, forks nothing).
 */
export function buildContext(deps: ContextDeps, req: ContextRequest): Context {
  let em: EntityManager | undefined;
  let logger: Logger | undefined;
  const ctx: Context = {
    requestId: req.requestId,
    ip: req.ip,
    userAgent: req.userAgent,
    transport: req.transport,
    get logger() {
      return (logger ??= deps.logger.child({ requestId: req.requestId, ...(req.auth ? { userId: req.auth.userId } : {}) }));
    },
    get em() {
      return (em ??= deps.em.fork());
    },
    preparedRead: (name, text, values) => preparedRead(deps.em, name, text, values),
    config: deps.config,
    services: deps.services,
    auth: req.auth ?? null,
    authProblem: req.authProblem,
    authReason: req.authReason,
    cookies: req.cookies ?? {},
    setCookie: req.setCookie,
    readsRecorded: new Map(),
    apiKeyRefused: () => undefined,
  };
  const hook = deps.onApiKeyRefused;
  if (hook) ctx.apiKeyRefused = (operation) => hook(ctx, operation);
  return ctx;
}

/** The caller, or UNAUTHENTICATED saying why not. */
export function requireAuth(ctx: Context): AuthInfo {
  if (!ctx.auth) throw new UnauthenticatedError(ctx.authProblem ?? 'Authentication required', ctx.authReason);
  return ctx.auth;
}

/** Where the request came from, for sessions and audit records. */
export function requestMeta(ctx: Context): RequestMeta {
  return { ip: ctx.ip, userAgent: ctx.userAgent, requestId: ctx.requestId };
}
