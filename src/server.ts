import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Request, type Response } from 'express';
import type { Config } from './config';
import type { Database } from './db/orm';
import { buildContext, type Context, type ContextDeps } from './graphql/context';
import { createFormatError } from './graphql/format-error';
import { buildAppSchema } from './graphql/schema';
import { attachWebSocket } from './graphql/ws';
import { httpErrorHandler, sendGraphQLError } from './http/errors';
import { opsRoutes } from './http/ops-routes';
import { corsPolicy, securityHeaders } from './http/security';
import type { Logger } from './logging/logger';
import { reenterScope, requestLog, scopeOf } from './logging/request-log';
import { requestScope } from './logging/request-context';
import { Metrics } from './observability/metrics';
import { parseCookies } from './auth/cookies';
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
  /** Test-only resolver classes added to the schema (never used by main.ts). */
  extraResolvers?: Function[];
}

const JSON_TYPES = ['application/json', 'application/graphql-response+json'];

/** Records the operation name where the request log and metrics can read it. */
const operationNamePlugin: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operationName }) {
        const scope = requestScope.getStore();
        if (scope && operationName) scope.operationName = operationName;
      },
    };
  },
};

/** Builds and starts the server on `config.port` (0 picks a free port). */
export async function startServer(deps: ServerDeps): Promise<AppServer> {
  const { config, logger, db } = deps;
  const prod = config.appEnv === 'prod';
  const metrics = new Metrics();
  const schema = await buildAppSchema(deps.extraResolvers);
  const formatError = createFormatError(config.appEnv, logger);
  const rootEm = db.orm.em as ContextDeps['em'];
  const services = createServices(config, logger, rootEm);
  const contextDeps: ContextDeps = { config, logger, em: rootEm, services };
  await services.auth.bootstrapAdmin(rootEm.fork());
  let shuttingDown = false;

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy ? 1 : false);
  app.use(requestLog(logger, metrics));
  app.use(securityHeaders(config));
  app.use(opsRoutes({ config, orm: db.orm, metrics, isShuttingDown: () => shuttingDown }));

  const httpServer = http.createServer(app);
  httpServer.requestTimeout = 30_000;
  httpServer.headersTimeout = 15_000;

  const apollo = new ApolloServer<Context>({
    schema,
    formatError,
    introspection: !prod,
    csrfPrevention: true,
    stopOnTerminationSignals: false, // main.ts owns the shutdown order
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: config.appEnv === 'dev',
    hideSchemaDetailsFromClientErrors: prod,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: Math.max(1000, config.shutdownTimeoutMs - 2000) }),
      ApolloServerPluginLandingPageDisabled(),
      operationNamePlugin,
    ],
  });
  await apollo.start();

  app.use(
    '/graphql',
    corsPolicy(config),
    (req, res, next) => {
      // Only JSON bodies are GraphQL requests here: forms and text/plain (the CSRF-able types) never reach Apollo.
      if (req.method === 'POST' && !JSON_TYPES.some((t) => req.is(t))) {
        sendGraphQLError(res, 415, 'BAD_USER_INPUT', 'Content-Type must be application/json');
        return;
      }
      next();
    },
    express.json({ limit: config.bodyLimitBytes, strict: true }),
    reenterScope(),
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

  const ws = attachWebSocket({ httpServer, schema, config, logger, metrics, contextDeps, formatError });

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
      })();
      return stopping;
    },
  };
}
