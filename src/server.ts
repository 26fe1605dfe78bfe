import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Request, type Response } from 'express';
import type { IRules } from 'graphql-shield';
import type { Config } from './config';
import type { LlmProvider } from './chat/providers/provider';
import type { Database } from './db/orm';
import { parseCookies } from './auth/cookies';
import { createApollo } from './graphql/apollo';
import { buildContext, type ContextDeps } from './graphql/context';
import { createFormatError } from './graphql/format-error';
import { buildAppSchema, buildExecutableSchema } from './schema';
import { attachWebSocket } from './graphql/ws';
import { CostBudget } from './graphql/rate-limit';
import { httpErrorHandler, sendGraphQLError } from './http/errors';
import { limitDocument, limitDocumentSize, loadManifest, requireJsonPost, trustedDocumentsOnly } from './http/graphql-guards';
import { opsRoutes } from './http/ops-routes';
import { corsPolicy, securityHeaders } from './http/security';
import type { Logger } from './logging/logger';
import { reenterScope, requestLog, scopeOf } from './logging/request-log';
import { Metrics } from './observability/metrics';
import { closeRedis, createRedis } from './redis';
import { createTopics } from './pubsub/topics';
import { downloadRoute, sweepUnattachedUploads, uploadsRoute } from './chat/uploads';
import { pruneTokenLedger } from './chat/chat.service';
import { purgeAuditPrefix } from './audit/audit.service';
import { sweepConversations } from './privacy/privacy.service';
import { createServices, type Services } from './services';

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
  extraResolvers?: Function[];
  extraRules?: IRules;
  /**
   * Benchmarks only: serve the bare schema with no permissions, limits, rate limits or input
   * hygiene, to measure what the defense layer costs. Never set by main.ts or configuration.
   */
  withoutDefenseLayerForBenchmark?: boolean;
  /** Benchmarks only: a provider instead of the configured one. */
  providerForBenchmark?: LlmProvider;
}

/** Audit actions counted as Prometheus security events (alert rules in docs/prometheus-alerts.yml). */
const SECURITY_COUNTERS: Record<string, string> = {
  'auth.login': 'failed_login',
  'auth.lockout': 'lockout',
  'admin.user.lock': 'lockout',
  'auth.token_reused': 'token_reuse',
  'security.rate_limited': 'rate_limited',
};

/** Builds and starts the server on `config.port` (0 picks a free port). */
export async function startServer(deps: ServerDeps): Promise<AppServer> {
  const { config, logger, db } = deps;
  const metrics = new Metrics();
  const formatError = createFormatError(config.appEnv, logger);
  const rootEm = db.orm.em as ContextDeps['em'];
  const redis = createRedis(config, logger);
  const pubsubRedis = config.redisUrl ? { publish: createRedis(config, logger, { queue: true })!, subscribe: createRedis(config, logger, { queue: true })! } : undefined;
  const pubsub = createTopics(pubsubRedis);
  const services = createServices(config, logger, rootEm, pubsub, deps.providerForBenchmark);
  const auditConnected = services.audit.connect(); // subscribes at once, like the other listeners
  await services.runner.startBackground();
  services.audit.onWritten = (e) => {
    const event = SECURITY_COUNTERS[e.action === 'auth.login' && e.outcome !== 'FAILURE' ? '' : e.action];
    // An aggregated event (rate-limit refusals) stands for `metadata.count` occurrences.
    if (event) metrics.securityEvents.inc({ event }, typeof e.metadata?.count === 'number' ? e.metadata.count : 1);
  };
  await auditConnected;
  const retention = setInterval(() => {
    void purgeAuditPrefix(services.audit, rootEm.fork(), config.audit.retentionDays)
      .then((n) => n > 0 && logger.info('audit retention: purged an old prefix behind a checkpoint', { events: n }))
      .catch((err) => logger.error('audit retention failed', { err }));
    if (config.conversationRetentionDays !== undefined) {
      void sweepConversations(services.audit, rootEm.fork(), config.conversationRetentionDays)
        .then((n) => n > 0 && logger.info('conversation retention: deleted old conversations', { conversations: n }))
        .catch((err) => logger.error('conversation retention failed', { err }));
    }
    void sweepUnattachedUploads(services.audit, rootEm.fork())
      .then((n) => n > 0 && logger.info('upload sweep: removed uploads never attached to a message', { attachments: n }))
      .catch((err) => logger.error('upload sweep failed', { err }));
    void pruneTokenLedger(rootEm.fork()).catch((err) => logger.error('token ledger pruning failed', { err }));
  }, config.audit.sweepSeconds * 1000);
  retention.unref();
  const bare = deps.withoutDefenseLayerForBenchmark === true;
  const schema = bare
    ? await buildAppSchema(deps.extraResolvers)
    : await buildExecutableSchema({ config, logger, audit: services.audit, redis, extraResolvers: deps.extraResolvers, extraRules: deps.extraRules });
  const budget = bare ? undefined : new CostBudget({ config, logger, audit: services.audit, redis });
  const manifest = config.limits.persistedQueriesOnly ? loadManifest(config.limits.persistedQueriesFile) : undefined;
  const contextDeps: ContextDeps = { config, logger, em: rootEm, services };
  await services.auth.bootstrapAdmin(rootEm.fork());
  let shuttingDown = false;

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy ? 1 : false);
  app.use(requestLog(logger, metrics));
  app.use(securityHeaders(config));
  app.use(opsRoutes({ config, orm: db.orm, metrics, isShuttingDown: () => shuttingDown }));
  app.options('/attachments', corsPolicy(config));
  app.post('/attachments', corsPolicy(config), uploadsRoute({ config, logger, em: rootEm, services, redis }));
  app.options('/attachments/:id', corsPolicy(config));
  app.get('/attachments/:id', corsPolicy(config), downloadRoute({ config, logger, em: rootEm, services }));

  const httpServer = http.createServer(app);
  httpServer.requestTimeout = 30_000;
  httpServer.headersTimeout = 15_000;

  const apollo = createApollo({ config, logger, schema, httpServer, formatError, manifest, bare, budget });
  await apollo.start();

  app.use(
    '/graphql',
    corsPolicy(config),
    requireJsonPost(),
    express.json({ limit: config.bodyLimitBytes, strict: true }),
    reenterScope(),
    ...(bare ? [] : [limitDocumentSize()]),
    ...(manifest ? [trustedDocumentsOnly(manifest)] : []),
    ...(bare ? [] : [limitDocument(config, schema, formatError)]),
    expressMiddleware(apollo, {
      context: async ({ req, res }: { req: Request; res: Response }) => {
        const scope = scopeOf(res);
        const { auth, problem } = await services.auth.authenticate(rootEm.fork(), req.headers.authorization);
        if (scope && auth) scope.userId = auth.userId;
        return buildContext(contextDeps, {
          requestId: scope?.requestId ?? '',
          ip: req.ip,
          userAgent: req.headers['user-agent'],
          transport: 'http',
          auth,
          authProblem: problem,
          cookies: parseCookies(req.headers.cookie),
          setCookie: (value) => res.append('Set-Cookie', value),
        });
      },
    }),
  );
  app.use((_req, res) => sendGraphQLError(res, 404, 'NOT_FOUND', 'No such route'));
  app.use(httpErrorHandler(config, logger));

  const ws = attachWebSocket({ httpServer, schema, config, logger, metrics, contextDeps, formatError, manifest, budget });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
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
        clearInterval(retention);
        await services.runner.stopAll(); // replies still streaming end INTERRUPTED, saved
        await services.audit.close(); // open tallies and reads written, last audit.head logged
        await services.revocations.disconnect();
        await closeRedis([redis, pubsubRedis?.publish, pubsubRedis?.subscribe]);
      })();
      return stopping;
    },
  };
}
