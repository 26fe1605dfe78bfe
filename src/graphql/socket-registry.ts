import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import type { WebSocket } from 'ws';
import type { Config } from '../config';
import type { Logger } from '../logging/logger';
import type { AuthInfo, RequestAuthenticator } from './context';
import type { CostReport } from './rate-limit';
import { SubscribeBudget } from './ws-guards';

/** graphql-ws's Forbidden: clients refresh their token and reconnect. */
export const WS_FORBIDDEN = 4403;

/** What one WebSocket connection carries through graphql-ws's hooks. */
export type SocketExtra = {
  socket: WebSocket;
  request: IncomingMessage;
  connectionId: string;
  ip?: string;
  /** Set once in onConnect from `connectionParams.authorization`. */
  auth?: AuthInfo;
  expiryTimer?: NodeJS.Timeout;
  /** Operations running now, against WS_MAX_SUBSCRIPTIONS_PER_CONNECTION. */
  active: Set<string>;
  budget: SubscribeBudget;
  /** The cost budget each running operation drew, reported in its `next` payloads' extensions. */
  costs: Map<string, CostReport>;
};

/**
 * The open sockets and what each may still do: a signed-in socket is closed with 4403 when its
 * token expires or its session is revoked (here or on another instance), and every connection
 * has its own subscribe budget and cap on operations running at once.
 */
export class SocketRegistry {
  private readonly bySession = new Map<string, Set<SocketExtra>>();
  private readonly stopWatching: () => void;

  constructor(private readonly deps: { config: Config; logger: Logger; authenticator: RequestAuthenticator }) {
    this.stopWatching = deps.authenticator.onRevoked((sessionId) => this.closeSession(sessionId));
  }

  /** The state of a newly accepted connection, with a full subscribe budget. */
  open(socket: WebSocket, request: IncomingMessage, connectionId: string, ip: string | undefined): SocketExtra {
    const { limit, duration } = this.deps.config.rateLimits.wsSubscribe;
    return { socket, request, connectionId, ip, active: new Set(), costs: new Map(), budget: new SubscribeBudget(limit, duration * 1000) };
  }

  /** Binds an authenticated caller to the socket until its token expires (then 4403) or its session is revoked. */
  signIn(extra: SocketExtra, auth: AuthInfo): void {
    extra.auth = auth;
    const set = this.bySession.get(auth.sessionId) ?? new Set();
    set.add(extra);
    this.bySession.set(auth.sessionId, set);
    extra.expiryTimer = setTimeout(() => extra.socket.close(WS_FORBIDDEN, 'Token expired'), Math.max(0, auth.expiresAt.getTime() - Date.now()));
    extra.expiryTimer.unref();
  }

  /** Forgets a closed socket: its expiry timer and its place under its session. */
  forget(extra: SocketExtra): void {
    clearTimeout(extra.expiryTimer);
    if (!extra.auth) return;
    const set = this.bySession.get(extra.auth.sessionId);
    set?.delete(extra);
    if (set?.size === 0) this.bySession.delete(extra.auth.sessionId);
  }

  /** Why the connection may not start another operation now (subscribe budget, concurrency cap), or null. */
  refusal(extra: SocketExtra): GraphQLError | null {
    if (!extra.budget.take()) {
      this.deps.logger.warn('security event', {
        security: true,
        event: 'security.rate_limited',
        field: 'ws.subscribe',
        ip: extra.ip,
        connectionId: extra.connectionId,
      });
      return new GraphQLError('Too many operations on this connection; slow down', {
        extensions: { code: 'RATE_LIMITED', retryAfterSeconds: extra.budget.retryAfterSeconds() },
      });
    }
    const max = this.deps.config.ws.maxSubscriptionsPerConnection;
    if (extra.active.size >= max) {
      return new GraphQLError(`At most ${max} operations may run at once on one connection`, { extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 1 } });
    }
    return null;
  }

  /** Stops closing sockets on revocation (shutdown closes them all anyway). */
  close(): void {
    this.stopWatching();
  }

  // A revoked session's sockets are cut off at once, so clients refresh and reconnect.
  private closeSession(sessionId: string): void {
    for (const extra of this.bySession.get(sessionId) ?? []) {
      this.deps.logger.info('ws closed: session revoked', { connectionId: extra.connectionId, sessionId });
      extra.socket.close(WS_FORBIDDEN, 'Session revoked');
    }
  }
}
