import type http from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { HTTPGraphQLHead } from '@apollo/server';
import { GraphQLError, OperationTypeNode, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import type { Config } from '../config';
import { databaseUnavailableError, isDatabaseUnavailable } from '../db/unavailable';
import { requestScope } from '../logging/request-context';
import type { Context } from './context';
import type { FormatError } from './format-error';
import type { Logger } from '../logging/logger';
import { manifestCache } from './trusted-documents';
import { MAX_TOKENS, VALIDATION_OPTIONS, assertCost, limitRules } from './limits';
import type { CostBudget, CostReport, LimitedCaller } from './rate-limit';

/** A subscription sent over HTTP: BAD_USER_INPUT (400), pointing at the WebSocket. */
const SUBSCRIPTION_OVER_HTTP = () =>
  new GraphQLError('Subscriptions run over WebSocket (graphql-ws) on /graphql, not over HTTP', {
    extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } },
  });

/** The budget a request draws from: its user, else its IP. */
function callerOf(ctx: Context): LimitedCaller {
  return { ip: ctx.ip, userId: ctx.auth?.userId, role: ctx.auth?.role, requestId: ctx.requestId };
}

/**
 * Records the operation name where the request log and metrics can read it, checks the cost,
 * draws it from the caller's cost budget, reports the budget in `extensions.cost` on every
 * response (a response that ran no operation reports it without drawing), and audits the
 * operation's reads once. (Our document limits run before Apollo, in the limitDocument
 * middleware: an error thrown by a plugin hook before this one would be answered as a 500.)
 */
function operationPlugin(
  config: Config,
  schema: GraphQLSchema,
  checkCost: boolean,
  onResultSent: (ctx: Context) => void,
  budget?: CostBudget,
): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      let cost: CostReport | undefined;
      return {
        async didResolveOperation({ operation, operationName, document, request, contextValue }) {
          // Executed over HTTP, a subscription field would run its event resolver with no event.
          if (operation?.operation === OperationTypeNode.SUBSCRIPTION) throw SUBSCRIPTION_OVER_HTTP();
          const scope = requestScope.getStore();
          if (scope && operationName) scope.operationName = operationName;
          if (!checkCost) return;
          const computed = assertCost(config, schema, document, request.variables, operationName);
          try {
            cost = await budget?.draw(callerOf(contextValue), computed);
          } catch (err) {
            // The budget lives in the database: unreachable, the request is refused as a 503, not a 500.
            if (isDatabaseUnavailable(err)) throw databaseUnavailableError(err);
            cost = (err as GraphQLError).extensions?.cost as CostReport | undefined;
            throw err;
          }
        },
        async willSendResponse({ response, contextValue }) {
          onResultSent(contextValue);
          // What Apollo's cache-control plugin answered for our hint-less schema, without its per-field hook.
          response.http.headers.set('cache-control', 'no-store');
          if (response.body.kind !== 'single') return;
          rateLimitedStatus(response.http, response.body.singleResult.errors);
          if (!budget) return;
          cost ??= await budget.peek(callerOf(contextValue));
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, cost };
        },
      };
    },
  };
}

/**
 * A response whose every error is RATE_LIMITED is a 429 with `Retry-After` (the longest
 * `retryAfterSeconds`), so HTTP clients and proxies back off without reading the body; a
 * response that also carries other errors keeps its status.
 */
export function rateLimitedStatus(http: HTTPGraphQLHead, errors: readonly GraphQLFormattedError[] | undefined): void {
  if (!errors?.length || !errors.every((e) => e.extensions?.code === 'RATE_LIMITED')) return;
  const seconds = Math.max(1, ...errors.map((e) => Number(e.extensions?.retryAfterSeconds) || 1));
  http.status = 429;
  http.headers.set('retry-after', String(seconds));
}

/** Apollo's own messages go to the structured log; by default it would print to the console. */
function apolloLogger(logger: Logger) {
  return {
    debug: (message: string) => logger.debug(message, { component: 'apollo' }),
    info: (message: string) => logger.info(message, { component: 'apollo' }),
    warn: (message: string) => logger.warn(message, { component: 'apollo' }),
    error: (message: string) => logger.error(message, { component: 'apollo' }),
  };
}

/** Apollo Server for `/graphql` over HTTP, with every limit and prod hardening switched on. */
export function createApollo(deps: {
  config: Config;
  logger: Logger;
  schema: GraphQLSchema;
  httpServer: http.Server;
  formatError: FormatError;
  /** Called with each operation's context when its response is sent (the audit of its reads). */
  onResultSent: (ctx: Context) => void;
  manifest?: Map<string, string>;
  bare?: boolean;
  budget?: CostBudget;
}) {
  const { config, schema } = deps;
  const prod = config.appEnv === 'prod';
  return new ApolloServer<Context>({
    schema,
    logger: apolloLogger(deps.logger),
    formatError: deps.formatError,
    introspection: !prod || config.limits.allowIntrospection,
    csrfPrevention: true,
    stopOnTerminationSignals: false, // main.ts owns the shutdown order
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: config.appEnv === 'dev',
    hideSchemaDetailsFromClientErrors: prod,
    validationRules: deps.bare ? [] : limitRules(config),
    validationOptions: VALIDATION_OPTIONS,
    parseOptions: deps.bare ? {} : { maxTokens: MAX_TOKENS },
    // Automatic persisted queries stay on with Apollo's bounded LRU cache (about 30 MiB);
    // with PERSISTED_QUERIES_ONLY the cache is the committed manifest, read-only.
    persistedQueries: deps.manifest ? { cache: manifestCache(deps.manifest) } : {},
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: deps.httpServer, stopGracePeriodMillis: Math.max(1000, config.shutdownTimeoutMs - 2000) }),
      ApolloServerPluginLandingPageDisabled(),
      // No field carries a cache hint: the plugin would only visit every resolved field to conclude `no-store`.
      ApolloServerPluginCacheControlDisabled(),
      operationPlugin(config, schema, !deps.bare, deps.onResultSent, deps.budget),
    ],
  });
}
