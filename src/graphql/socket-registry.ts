import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import type { WebSocket } from 'ws';
import type { Config } from '../config';
import type { Logger } from '../logging/logger';
import type { AuthInfo, RequestAuthenticator, RevocationKind } from './context';
import { UnauthenticatedError, type AuthReason } from './errors';
import type { CostReport } from './rate-limit';
import { SubscribeBudget } from './ws-guards';

/** graphql-ws's Forbidden: clients refresh their token and reconnect. */
export const WS_FORBIDDEN = 4403;

/** The stable reasons a socket is closed with 4403 (README, WebSocket close reasons): clients may branch on them. */
export type CloseReason = 'token_expired' | 'token_invalid' | RevocationKind;

/** The close reason for a token refused on connect. */
export const CLOSE_REASON_OF: Record<AuthReason, CloseReason> = {
  TOKEN_EXPIRED: 'token_expired',
  TOKEN_INVALID: 'token_invalid',
  SESSION_REVOKED: 'session_revoked',
};

/** What one WebSocket connection carries through graphql-ws's hooks. */
export type SocketExtra = {
  socket: WebSocket;
  request: IncomingMessage;
  connectionId: string;
  ip?: string;
  /** Set once in onConnect from `connectionParams.authorization`. */
  auth?: AuthInfo;
  expiryTimer?: NodeJS.Timeout;
  /** The access token has expired: running operations finish, new ones are refused, then the socket closes. */
  expired?: boolean;
  /** Operations running now, against WS_MAX_SUBSCRIPTIONS_PER_CONNECTION. */
  active: Set<string>;
  budget: SubscribeBudget;
  /** The cost budget each running operation drew, reported in its `next` payloads' extensions. */
  costs: Map<string, CostReport>;
};

/**
 * The open sockets and what each may still do. When a signed-in socket's access token expires,
 * its running operations go on to their end (for at most WS_EXPIRED_GRACE_SECONDS), new ones are
 * refused (UNAUTHENTICATED, TOKEN_EXPIRED) and the socket closes with 4403 `token_expired` once
 * none runs: a reply is not cut off mid-stream, and the client refreshes and reconnects. A
 * revoked session (here or on another instance) closes at once with 4403 `session_revoked` or
 * `account_locked`. Every connection has its own subscribe budget and cap on operations running
 * at once.
 */
export class SocketRegistry {
  private readonly bySession = new Map<string, Set<SocketExtra>>();
  private readonly stopWatching: () => void;
  private readonly stopResync: () => void;
  private rechecking = false;

  constructor(private readonly deps: { config: Config; logger: Logger; authenticator: RequestAuthenticator }) {
    this.stopWatching = deps.authenticator.onRevoked((sessionId, why) => this.closeSession(sessionId, why));
    this.stopResync = deps.authenticator.onResync(() => void this.recheck());
  }

  /**
   * Re-checks every signed-in session with an open socket, one at a time, and closes the
   * sockets of those no longer live: the revocation notice may have been lost (Redis down).
   * A check that fails (PostgreSQL down) leaves the socket open; the next resync tries again.
   */
  private async recheck(): Promise<void> {
    if (this.rechecking) return;
    this.rechecking = true;
    try {
      for (const [sessionId, set] of [...this.bySession]) {
        const auth = set.values().next().value?.auth;
        const live = auth ? await this.deps.authenticator.sessionLive(auth).catch(() => true) : true;
        if (!live) this.closeSession(sessionId, 'session_revoked');
      }
    } finally {
      this.rechecking = false;
    }
  }

  /** The state of a newly accepted connection, with a full subscribe budget. */
  open(socket: WebSocket, request: IncomingMessage, connectionId: string, ip: string | undefined): SocketExtra {
    const { limit, duration } = this.deps.config.rateLimits.wsSubscribe;
    return { socket, request, connectionId, ip, active: new Set(), costs: new Map(), budget: new SubscribeBudget(limit, duration * 1000) };
  }

  /** Binds an authenticated caller to the socket until its token expires (then 4403 once idle) or its session is revoked. */
  signIn(extra: SocketExtra, auth: AuthInfo): void {
    extra.auth = auth;
    const set = this.bySession.get(auth.sessionId) ?? new Set();
    set.add(extra);
    this.bySession.set(auth.sessionId, set);
    extra.expiryTimer = setTimeout(() => this.expire(extra, auth), Math.max(0, auth.expiresAt.getTime() - Date.now()));
    extra.expiryTimer.unref();
  }

  /**
   * The token expired: an idle socket closes now; running operations go on, but only for
   * WS_EXPIRED_GRACE_SECONDS, since a subscription that never ends must not keep it open.
   */
  private expire(extra: SocketExtra, auth: AuthInfo): void {
    extra.expired = true;
    this.deps.logger.info('ws token expired', { connectionId: extra.connectionId, userId: auth.userId, running: extra.active.size });
    this.closeIfIdle(extra);
    extra.expiryTimer = setTimeout(() => this.closeExpired(extra), this.deps.config.ws.expiredGraceSeconds * 1000);
    extra.expiryTimer.unref();
  }

  /** True (and marked) once the socket's access token has expired. */
  private hasExpired(extra: SocketExtra): boolean {
    if (extra.auth && extra.auth.expiresAt.getTime() <= Date.now()) extra.expired = true;
    return extra.expired === true;
  }

  /** Closes an expired socket that runs no operation any more. */
  private closeIfIdle(extra: SocketExtra): void {
    if (extra.expired && extra.active.size === 0) this.closeExpired(extra);
  }

  private closeExpired(extra: SocketExtra): void {
    if (extra.socket.readyState !== extra.socket.OPEN) return; // already closing
    this.deps.logger.info('ws closed: token expired', { connectionId: extra.connectionId, running: extra.active.size });
    extra.socket.close(WS_FORBIDDEN, 'token_expired' satisfies CloseReason);
  }

  /**
   * An operation ended or was refused: an expired socket closes if now idle. Deferred a turn so
   * graphql-ws has handed its last message (complete or error) to the socket first; ws sends
   * the close frame after it.
   */
  settle(extra: SocketExtra): void {
    if (extra.expired) setImmediate(() => this.closeIfIdle(extra));
  }

  /** Forgets a closed socket: its expiry timer and its place under its session. */
  forget(extra: SocketExtra): void {
    clearTimeout(extra.expiryTimer);
    if (!extra.auth) return;
    const set = this.bySession.get(extra.auth.sessionId);
    set?.delete(extra);
    if (set?.size === 0) this.bySession.delete(extra.auth.sessionId);
  }

  /** Why the connection may not start another operation now (token expired, subscribe budget, concurrency cap), or null. */
  refusal(extra: SocketExtra): GraphQLError | null {
    if (this.hasExpired(extra)) {
      this.settle(extra);
      return new UnauthenticatedError('Access token has expired; refresh it and reconnect', 'TOKEN_EXPIRED');
    }
    if (!extra.budget.take()) {
      this.deps.logger.warn('security event', {
        security: true,
        event: 'security.rate_limited',
        field: 'ws.subscribe',
        ip: extra.ip,
        connectionId: extra.connectionId,
      });
      return new GraphQLError('Too many operations on this connection; slow down', {
        extensions: { code: 'RATE_LIMITED', reason: 'RATE', retryAfterSeconds: extra.budget.retryAfterSeconds() },
      });
    }
    const max = this.deps.config.ws.maxSubscriptionsPerConnection;
    if (extra.active.size >= max) {
      return new GraphQLError(`At most ${max} operations may run at once on one connection`, {
        extensions: { code: 'RATE_LIMITED', reason: 'CONCURRENT_STREAMS', retryAfterSeconds: 1 },
      });
    }
    return null;
  }

  /** Stops closing sockets on revocation (shutdown closes them all anyway). */
  close(): void {
    this.stopWatching();
    this.stopResync();
  }

  // A revoked session's sockets are cut off at once, running operations included: whoever
  // revoked it (the user, an admin, reuse detection) wants that session to stop now.
  private closeSession(sessionId: string, why: RevocationKind): void {
    for (const extra of this.bySession.get(sessionId) ?? []) {
      this.deps.logger.info('ws closed: session revoked', { connectionId: extra.connectionId, sessionId, why });
      extra.socket.close(WS_FORBIDDEN, why satisfies CloseReason);
    }
  }
}
