import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, getOperationAST, type GraphQLSchema } from 'graphql';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Config } from '../config';
import type { Logger } from '../logging/logger';
import type { Metrics } from '../observability/metrics';
import { databaseUnavailableError, isDatabaseUnavailable } from '../db/unavailable';
import { buildContext, type Context, type ContextDeps, type RequestAuthenticator } from './context';
import type { FormatError } from './format-error';
import { plainSubscribe, type PlainSubscriptions } from './plain-subscriptions';
import type { CostBudget } from './rate-limit';
import { CLOSE_REASON_OF, SocketRegistry, WS_FORBIDDEN, type CloseReason, type SocketExtra } from './socket-registry';
import { OperationPreparer, UpgradeGate, refuseUpgrade } from './ws-guards';

export { WS_FORBIDDEN } from './socket-registry';

/** Largest WebSocket message accepted; a GraphQL operation never needs more. */
export const WS_MAX_PAYLOAD = 64 * 1024;
/** Keep-alive ping interval; a peer that misses a pong for as long is dropped. */
const KEEP_ALIVE_MS = 12_000;

/**
 * The client address: the socket's, or with TRUST_PROXY the address our one trusted proxy saw
 * (the last X-Forwarded-For entry, which it appended; anything before it is client-written).
 * Matches express's `trust proxy = 1` on the HTTP side.
 */

/** A WebSocket message as text (ws hands over a Buffer, an ArrayBuffer or fragments). */
function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

export function clientIp(request: IncomingMessage, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const fwd = request.headers['x-forwarded-for'];
    const hops = (Array.isArray(fwd) ? fwd.join(',') : (fwd ?? ''))
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    if (hops.length > 0) return hops[hops.length - 1];
  }
  return request.socket.remoteAddress;
}

function withCode(err: GraphQLError): GraphQLError {
  if (err.extensions?.code) return err;
  // graphql-ws wraps what a running subscription throws: keep a deliberate error as it is
  // (SLOW_CONSUMER…); anything else is unexpected, for formatError to log and mask.
  const original = err.originalError;
  if (original instanceof GraphQLError && original.extensions?.code) return original;
  if (original) return err;
  const code = err.message.startsWith('Syntax Error') ? 'GRAPHQL_PARSE_FAILED' : 'GRAPHQL_VALIDATION_FAILED';
  return new GraphQLError(err.message, {
    nodes: err.nodes,
    source: err.source,
    positions: err.positions,
    path: err.path,
    extensions: { ...err.extensions, code },
  });
}

/** What the WebSocket transport is built from. */
export interface WebSocketDeps {
  httpServer: Server;
  schema: GraphQLSchema;
  config: Config;
  logger: Logger;
  metrics: Metrics;
  contextDeps: ContextDeps;
  authenticator: RequestAuthenticator;
  /** Whether a browser at this Origin may open a socket: the same decision as HTTP's CORS policy. */
  originAllowed: (origin: string) => boolean;
  /** Called with each operation's context when a result is sent (the audit of its reads). */
  onResultSent: (ctx: Context) => void;
  formatError: FormatError;
  manifest?: Map<string, string>;
  budget?: CostBudget;
  /** Subscriptions whose events are plain data: authorized once at start, each event built without a per-event execution. */
  plainSubscriptions?: PlainSubscriptions;
}

// The operation id is the client's choice: keep it short and plain in logs and error ids.
const opId = (extra: SocketExtra, id: string) => `${extra.connectionId}:${id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64)}`;

/** Admits an operation: connection budgets, then the document checks, then its draw from the cost budget. */
function subscribeHook(deps: WebSocketDeps, registry: SocketRegistry) {
  const preparer = new OperationPreparer(deps.config, deps.schema, deps.manifest);
  return async (extra: SocketExtra, id: string, payload: Parameters<OperationPreparer['prepare']>[0]) => {
    const refused = registry.refusal(extra);
    if (refused) return [refused];
    const prepared = preparer.prepare(payload);
    if (Array.isArray(prepared)) return prepared;
    const { cost, ...args } = prepared;
    // Counted before any await, so the cap holds for messages arriving meanwhile.
    extra.active.add(id);
    const unreachable = await databaseUnreachable(deps.authenticator, extra);
    if (unreachable) {
      extra.active.delete(id);
      registry.settle(extra);
      return [unreachable];
    }
    if (deps.budget) {
      const who = { ip: extra.ip, userId: extra.auth?.userId, role: extra.auth?.role, requestId: opId(extra, id) };
      try {
        extra.costs.set(id, await deps.budget.draw(who, cost));
      } catch (err) {
        extra.active.delete(id);
        registry.settle(extra);
        if (err instanceof GraphQLError) return [err];
        throw err;
      }
    }
    return args;
  };
}

/**
 * The session check a signed-in socket's operation needs, made here where a refusal can still be
 * an error message: with the database unreachable it answers a coded "try again" error instead of
 * throwing out of the protocol handler (which would close the whole socket with 4500). The answer
 * is cached, so the context's own check right after costs nothing.
 */
async function databaseUnreachable(authenticator: RequestAuthenticator, extra: SocketExtra): Promise<GraphQLError | undefined> {
  if (!extra.auth) return undefined;
  try {
    await authenticator.sessionLive(extra.auth);
    return undefined;
  } catch (err) {
    if (isDatabaseUnavailable(err)) return databaseUnavailableError(err);
    throw err;
  }
}

/** graphql-ws's protocol server: our admission, one context builder, auth on connect and per operation, masked errors. */
function protocolServer(deps: WebSocketDeps, registry: SocketRegistry) {
  const { logger, metrics, formatError, authenticator } = deps;
  const admit = subscribeHook(deps, registry);
  return makeServer<Record<string, unknown> | undefined, SocketExtra>({
    schema: deps.schema,
    connectionInitWaitTimeout: 3000,
    ...(deps.plainSubscriptions ? { subscribe: plainSubscribe(deps.plainSubscriptions) } : {}),
    onSubscribe: (ctx, id, payload) => admit(ctx.extra, id, payload),
    context: async (ctx, id, _payload, args) => {
      const operationName = getOperationAST(args.document, args.operationName)?.name?.value;
      let auth = ctx.extra.auth ?? null;
      // Re-checked per operation: the session may have been revoked elsewhere (the token's
      // expiry was checked when the operation was admitted).
      if (auth && !(await authenticator.sessionLive(auth))) {
        ctx.extra.socket.close(WS_FORBIDDEN, 'session_revoked' satisfies CloseReason);
        auth = null;
      }
      logger.info('ws subscribe', { connectionId: ctx.extra.connectionId, requestId: opId(ctx.extra, id), operationName, userId: auth?.userId });
      return buildContext(deps.contextDeps, {
        requestId: opId(ctx.extra, id),
        ip: ctx.extra.ip,
        userAgent: ctx.extra.request.headers['user-agent'],
        transport: 'ws',
        auth,
        ...(ctx.extra.auth && !auth ? { authProblem: 'Session has been revoked', authReason: 'SESSION_REVOKED' as const } : {}),
      });
    },
    onConnect: async (ctx) => {
      const header = ctx.connectionParams?.authorization;
      if (header !== undefined && header !== null) {
        const { auth, problem, reason } =
          typeof header === 'string'
            ? await authenticator.authenticate(header, { ip: ctx.extra.ip })
            : { problem: 'authorization must be a string', reason: 'TOKEN_INVALID' as const };
        if (!auth) {
          metrics.wsConnections.inc({ outcome: 'refused' });
          logger.warn('ws refused', { connectionId: ctx.extra.connectionId, ip: ctx.extra.ip, problem });
          // 4403 with a stable reason; graphql-ws's own close (4403 Forbidden) after it is a no-op.
          ctx.extra.socket.close(WS_FORBIDDEN, CLOSE_REASON_OF[reason ?? 'TOKEN_INVALID']);
          return false;
        }
        registry.signIn(ctx.extra, auth);
      }
      logger.info('ws connect', { connectionId: ctx.extra.connectionId, ip: ctx.extra.ip, userId: ctx.extra.auth?.userId });
      return true;
    },
    onError: (ctx, id, _payload, errors) =>
      errors.map((e) => {
        const coded = withCode(e);
        return formatError(coded.toJSON(), coded, opId(ctx.extra, id));
      }),
    onNext: (ctx, id, _payload, args, result) => {
      deps.onResultSent(args.contextValue as Context); // one data.read event per result, as over HTTP
      const cost = ctx.extra.costs.get(id);
      if (!result.errors && !cost) return undefined;
      return {
        ...result,
        ...(result.errors ? { errors: result.errors.map((e) => formatError(e.toJSON(), e, opId(ctx.extra, id))) } : {}),
        ...(cost ? { extensions: { ...result.extensions, cost } } : {}),
      };
    },
    onComplete: (ctx, id) => {
      ctx.extra.active.delete(id);
      ctx.extra.costs.delete(id);
      registry.settle(ctx.extra);
      logger.info('ws complete', { connectionId: ctx.extra.connectionId, requestId: opId(ctx.extra, id) });
    },
  });
}

/** Upgrades on `/graphql` past the gate (origin, per-IP connection caps); the rest are refused with a status. */
function upgradeHandler(deps: WebSocketDeps, wss: WebSocketServer) {
  const { config, logger, metrics } = deps;
  const gate = new UpgradeGate(config, deps.originAllowed);
  return (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const ip = clientIp(request, config.trustProxy);
    const refusal = gate.check(request, ip);
    if (refusal) {
      metrics.wsConnections.inc({ outcome: 'refused' });
      logger.warn('ws upgrade refused', { ip, origin: request.headers.origin, status: refusal.status, security: refusal.status === 403 });
      refuseUpgrade(socket, refusal.status, refusal.reason);
      return;
    }
    gate.opened(ip);
    socket.once('close', () => gate.closed(ip));
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
}

/** Serves one accepted socket: keep-alive pings, graphql-ws's protocol, logs and metrics, cleanup on close. */
function serveSocket(
  deps: WebSocketDeps,
  registry: SocketRegistry,
  gqlServer: ReturnType<typeof protocolServer>,
  socket: WebSocket,
  request: IncomingMessage,
): void {
  const { config, logger, metrics } = deps;
  const extra = registry.open(socket, request, randomUUID(), clientIp(request, config.trustProxy));
  metrics.wsOpen.inc();
  metrics.wsConnections.inc({ outcome: 'accepted' });

  socket.once('error', (err) => {
    // e.g. a message over maxPayload: ws has already chosen the close code (1009 for that).
    logger.warn('ws socket error', { connectionId: extra.connectionId, ip: extra.ip, err: err.message });
  });

  let pongWait: NodeJS.Timeout | undefined;
  const ping = setInterval(() => {
    if (socket.readyState !== socket.OPEN) return;
    pongWait = setTimeout(() => socket.terminate(), KEEP_ALIVE_MS);
    socket.once('pong', () => clearTimeout(pongWait));
    socket.ping();
  }, KEEP_ALIVE_MS);

  const closed = gqlServer.opened(
    {
      protocol: socket.protocol,
      send: (data) =>
        new Promise((resolve, reject) => {
          if (socket.readyState !== socket.OPEN) return resolve();
          socket.send(data, (err) => (err ? reject(err) : resolve()));
        }),
      close: (code, reason) => socket.close(code, reason),
      onMessage: (cb) =>
        socket.on(
          'message',
          (data) =>
            void (async () => {
              try {
                await cb(rawText(data));
              } catch (err) {
                logger.error('ws message handling failed', { connectionId: extra.connectionId, err });
                socket.close(CloseCode.InternalServerError, 'Internal server error');
              }
            })(),
        ),
    },
    extra,
  );

  socket.once('close', (code, reason) => {
    clearInterval(ping);
    clearTimeout(pongWait);
    registry.forget(extra);
    metrics.wsOpen.dec();
    logger.info('ws close', { connectionId: extra.connectionId, code, reason: reason.toString() || undefined });
    void closed(code, reason.toString());
  });
}

/**
 * graphql-ws on the HTTP server's `/graphql`, sharing the HTTP path's context builder and error
 * masking. The socket glue is ours (not graphql-ws's `useServer`) so that every failure goes to
 * the structured log, never the console, and close reasons never carry internals.
 */
export function attachWebSocket(deps: WebSocketDeps) {
  const registry = new SocketRegistry({ config: deps.config, logger: deps.logger, authenticator: deps.authenticator });
  const gqlServer = protocolServer(deps, registry);
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD, handleProtocols });
  wss.on('error', (err) => deps.logger.error('WebSocket server error', { err }));
  const onUpgrade = upgradeHandler(deps, wss);
  deps.httpServer.on('upgrade', onUpgrade);
  wss.on('connection', (socket, request) => serveSocket(deps, registry, gqlServer, socket, request));

  return {
    wss,
    /** Closes every socket with 1001 (going away), then stops the WebSocket server. */
    async close(): Promise<void> {
      registry.close();
      deps.httpServer.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await new Promise<void>((resolve) => {
        const deadline = setTimeout(() => {
          for (const client of wss.clients) client.terminate();
        }, 2000);
        wss.close(() => {
          clearTimeout(deadline);
          resolve();
        });
      });
    },
  };
}
