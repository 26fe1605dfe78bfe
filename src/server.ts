import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express, type Request, type Response } from 'express';
import type { GraphQLSchema } from 'graphql';
import type { IRules } from 'graphql-shield';
import { databaseUnavailableError, isDatabaseUnavailable } from './db/unavailable';
import type { Config } from './config';
import type { LlmProvider } from './chat/providers/provider';
import type { Database } from './db/orm';
import { parseCookies } from './auth/cookies';
import { createApollo } from './graphql/apollo';
import { buildContext, type Context, type ContextDeps, type RequestAuthenticator } from './graphql/context';
import { createFormatError, type FormatError } from './graphql/format-error';
import { buildAppSchema, buildExecutableSchema, type ResolverClass } from './schema';
import { attachWebSocket } from './graphql/ws';
import { CostBudget, OperationLimit, type RefusalTally } from './graphql/rate-limit';
import { openAiCompatRoutes } from './chat/openai-compat';
import { admission } from './http/admission';
import { devLandingPage } from './http/dev-landing';
import { webClient } from './http/web-client';
import type { TokenService } from './auth/tokens';
import { httpErrorHandler, sendGraphQLError } from './http/errors';
import { limitDocument, limitDocumentSize, requireJsonPost, trustedDocumentsOnly } from './http/graphql-guards';
import { loadManifest } from './graphql/trusted-documents';
import { opsRoutes } from './http/ops-routes';
import { corsPolicy, originAllowed, securityHeaders } from './http/security';
import type { Logger } from './logging/logger';
import { reenterScope, requestLog, scopeOf } from './logging/request-log';
import { Metrics } from './observability/metrics';
import { closeRedis, createRedis } from './redis';
import { createTopics } from './pubsub/topics';
import { downloadRoute, uploadsRoute } from './chat/uploads';
import { auditExportRoute } from './audit/audit-export';
import { auditRefusals, flushOperationReads } from './audit/operation-audit';
import { createRequestAuthenticator, laneOf } from './auth/request-auth';
import { countSecurityEvents, startRetentionJobs } from './jobs';
import { createServices, type Services } from './services';
import { PLAIN_SUBSCRIPTIONS } from './chat/stream';

/** A running Parley server: HTTP and WebSocket on one port. */
export interface AppServer {
  httpServer: http.Server;
  port: number;
  url: string;
  metrics: Metrics;
  services: Services;
  /** Stops accepting, closes sockets with 1001, lets in-flight HTTP finish. Does not close the database. */
  stop(): Promise<void>;
}

export interface ServerDeps {
  config: Config;
  logger: Logger;
  db: Database;
  /** Test-only resolver classes added to the schema, and the rules that open them (never used by main.ts). */
  extraResolvers?: ResolverClass[];
  extraRules?: IRules;
  /**
   * Benchmarks only: serve the bare schema with no permissions, limits, rate limits or input
   * hygiene, to measure what the defense layer costs. Never set by main.ts or configuration.
   */
  withoutDefenseLayerForBenchmark?: boolean;
  /** Benchmarks only: a provider instead of the configured one. */
  providerForBenchmark?: LlmProvider;
}

/** The context of an HTTP operation: the caller from its `Authorization` header, its cookies, its request id. */
function httpContext(contextDeps: ContextDeps, authenticator: RequestAuthenticator) {
  return async ({ req, res }: { req: Request; res: Response }): Promise<Context> => {
    const scope = scopeOf(res);
    // The session check reads the database: unreachable, the request is a clean 503, not a 500 naming its host.
    const { auth, problem, reason } = await authenticator
      .authenticate(req.headers.authorization, { ip: req.ip, requestId: scope?.requestId })
      .catch((err: unknown) => {
        throw isDatabaseUnavailable(err) ? databaseUnavailableError(err) : err;
      });
    if (scope && auth) scope.userId = auth.userId;
    return buildContext(contextDeps, {
      requestId: scope?.requestId ?? '',
      ip: req.ip,
      userAgent: req.headers['user-agent'],
      transport: 'http',
      auth,
      authProblem: problem,
      authReason: reason,
      cookies: parseCookies(req.headers.cookie),
      setCookie: (value) => res.append('Set-Cookie', value),
    });
  };
}

/** `/graphql` over HTTP: CORS, JSON only, document size, trusted documents, document limits, then Apollo; a 404 for the rest. */
function mountGraphql(
  app: Express,
  deps: {
    config: Config;
    logger: Logger;
    schema: GraphQLSchema;
    formatError: FormatError;
    apollo: ReturnType<typeof createApollo>;
    context: ReturnType<typeof httpContext>;
    manifest?: Map<string, string>;
    bare: boolean;
    tokens: TokenService;
  },
): void {
  const { config, bare, manifest } = deps;
  if (config.appEnv !== 'prod') app.get('/graphql', devLandingPage());
  app.use(
    '/graphql',
    corsPolicy(config),
    requireJsonPost(),
    // Before the body is read: requests no valid session vouches for queue in their own lanes.
    ...(bare ? [] : [admission(laneOf(deps.tokens))]),
    express.json({ limit: config.bodyLimitBytes, strict: true }),
    reenterScope(),
    ...(bare ? [] : [limitDocumentSize()]),
    ...(manifest ? [trustedDocumentsOnly(manifest)] : []),
    ...(bare ? [] : [limitDocument(config, deps.schema, deps.formatError)]),
    expressMiddleware(deps.apollo, { context: deps.context }),
  );
  app.use((_req, res) => sendGraphQLError(res, 404, 'NOT_FOUND', 'No such route'));
  app.use(httpErrorHandler(config, deps.logger));
}

/** The express app before `/graphql`: request log, security headers, ops routes and attachments. */
function baseApp(deps: {
  config: Config;
  logger: Logger;
  db: Database;
  metrics: Metrics;
  services: Services;
  authenticator: RequestAuthenticator;
  redis?: ReturnType<typeof createRedis>;
  isShuttingDown: () => boolean;
  tallyRefusal: RefusalTally;
  budget?: CostBudget;
}): Express {
  const { config, logger, metrics, services, authenticator } = deps;
  const em = deps.db.orm.em;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy ? 1 : false);
  app.use(requestLog(logger, metrics));
  app.use(securityHeaders(config));
  app.use(opsRoutes({ config, orm: deps.db.orm, metrics, isShuttingDown: deps.isShuttingDown }));
  // The reference client's page and files, for development; prod serves no pages at all.
  if (config.appEnv !== 'prod') app.use(webClient(config.webDir));
  app.options('/attachments', corsPolicy(config));
  app.post('/attachments', corsPolicy(config), uploadsRoute({ config, logger, em, audit: services.audit, authenticator, redis: deps.redis }));
  app.options('/attachments/:id', corsPolicy(config));
  app.get('/attachments/:id', corsPolicy(config), downloadRoute({ config, logger, em, audit: services.audit, authenticator }));
  app.options('/audit/export.ndjson', corsPolicy(config));
  app.get('/audit/export.ndjson', corsPolicy(config), auditExportRoute({ em, audit: services.audit, authenticator }));
  const sendLimit = new OperationLimit({ config, logger, tallyRefusal: deps.tallyRefusal, redis: deps.redis }, 'sendMessage', 'Mutation.sendMessage');
  const { chat, runner, pubsub } = services;
  app.use(openAiCompatRoutes({ config, logger, authenticator, chat, runner, pubsub, em, sendLimit, budget: deps.budget }));
  return app;
}

/** Resolves once `httpServer` listens on the configured host and port; rejects if it cannot. */
function listen(httpServer: http.Server, config: Config): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
}

/** The services with their background work running: generation recovery, the audit tail, security counters, retention jobs. */
async function startBackend(deps: ServerDeps, metrics: Metrics) {
  const { config, logger, db } = deps;
  const rootEm = db.orm.em;
  const redis = createRedis(config, logger);
  const pubsubRedis = config.redisUrl
    ? { publish: createRedis(config, logger, { queue: true })!, subscribe: createRedis(config, logger, { queue: true })! }
    : undefined;
  const pubsub = createTopics(pubsubRedis, logger);
  const services = createServices(config, logger, rootEm, pubsub, deps.providerForBenchmark);
  const auditConnected = services.audit.connect(); // subscribes at once, like the other listeners
  await services.runner.startBackground();
  countSecurityEvents(services, metrics);
  await auditConnected;
  const stopJobs = startRetentionJobs({ config, logger, services, em: rootEm });
  return { rootEm, redis, services, stopJobs, redisClients: [redis, pubsubRedis?.publish, pubsubRedis?.subscribe] };
}

/** Builds and starts the server on `config.port` (0 picks a free port). */
export async function startServer(deps: ServerDeps): Promise<AppServer> {
  const { config, logger, db } = deps;
  const metrics = new Metrics();
  const formatError = createFormatError(config.appEnv, logger);
  const { rootEm, redis, services, stopJobs, redisClients } = await startBackend(deps, metrics);
  const bare = deps.withoutDefenseLayerForBenchmark === true;
  const tallyRefusal = auditRefusals(services.audit);
  const authenticator = createRequestAuthenticator(services.auth, services.revocations, rootEm, services.apiKeys);
  const schema = bare
    ? await buildAppSchema(deps.extraResolvers)
    : await buildExecutableSchema({ config, logger, tallyRefusal, redis, extraResolvers: deps.extraResolvers, extraRules: deps.extraRules });
  const budget = bare ? undefined : new CostBudget({ config, logger, tallyRefusal, redis });
  const manifest = config.limits.persistedQueriesOnly ? loadManifest(config.limits.persistedQueriesFile) : undefined;
  const contextDeps: ContextDeps = {
    config,
    logger,
    em: rootEm,
    services,
    onApiKeyRefused: (ctx, operation) => ctx.auth && services.apiKeys.refusedScope(ctx.auth, operation, ctx),
  };
  await services.auth.bootstrapAdmin(rootEm.fork());
  let shuttingDown = false;

  const app = baseApp({ config, logger, db, metrics, services, authenticator, redis, isShuttingDown: () => shuttingDown, tallyRefusal, budget });
  const httpServer = http.createServer(app);
  httpServer.requestTimeout = 30_000;
  httpServer.headersTimeout = 15_000;

  const apollo = createApollo({ config, logger, schema, httpServer, formatError, onResultSent: flushOperationReads, manifest, bare, budget });
  await apollo.start();
  mountGraphql(app, { config, logger, schema, formatError, apollo, context: httpContext(contextDeps, authenticator), manifest, bare, tokens: services.tokens });

  const ws = attachWebSocket({
    httpServer,
    schema,
    config,
    logger,
    metrics,
    contextDeps,
    authenticator,
    originAllowed: (origin) => originAllowed(config, origin),
    onResultSent: flushOperationReads,
    formatError,
    manifest,
    budget,
    plainSubscriptions: PLAIN_SUBSCRIPTIONS,
  });

  await listen(httpServer, config);
  const { port } = httpServer.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  logger.info('server listening', { port, host: config.host, appEnv: config.appEnv });

  let stopping: Promise<void> | undefined;
  return {
    httpServer,
    port,
    url: `http://${host}:${port}`,
    metrics,
    services,
    stop() {
      stopping ??= (async () => {
        shuttingDown = true;
        await ws.close();
        await apollo.stop(); // drain plugin: stop accepting, finish in-flight, then close the rest
        stopJobs();
        await services.runner.stopAll(); // replies still streaming end INTERRUPTED, saved
        await services.audit.close(); // open tallies and reads written, last audit.head logged
        await services.revocations.disconnect();
        await closeRedis(redisClients);
      })();
      return stopping;
    },
  };
}
