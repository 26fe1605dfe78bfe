import type http from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import type { Config } from '../config';
import { manifestCache } from '../http/graphql-guards';
import { requestScope } from '../logging/request-context';
import { flushOperationReads, type Context } from './context';
import type { FormatError } from './format-error';
import type { Logger } from '../logging/logger';
import { MAX_TOKENS, VALIDATION_OPTIONS, assertCost, limitRules } from './limits';

/**
 * Records the operation name where the request log and metrics can read it, checks the cost, and
 * audits the operation's reads once. (Our document limits run before Apollo, in the
 * limitDocument middleware: an error thrown by a plugin hook before this one would be answered as a 500.)
 */
function operationPlugin(config: Config, schema: GraphQLSchema, checkCost: boolean): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operationName, document, request }) {
          const scope = requestScope.getStore();
          if (scope && operationName) scope.operationName = operationName;
          if (checkCost) assertCost(config, schema, document, request.variables, operationName);
        },
        async willSendResponse({ contextValue }) {
          flushOperationReads(contextValue);
        },
      };
    },
  };
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
export function createApollo(deps: { config: Config; logger: Logger; schema: GraphQLSchema; httpServer: http.Server; formatError: FormatError; manifest?: Map<string, string>; bare?: boolean }) {
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
      operationPlugin(config, schema, !deps.bare),
    ],
  });
}
