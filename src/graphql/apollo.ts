import type http from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLError, GraphQLSchema } from 'graphql';
import type { Config } from '../config';
import { manifestCache } from '../http/graphql-guards';
import { requestScope } from '../logging/request-context';
import type { Context } from './context';
import type { FormatError } from './format-error';
import { MAX_TOKENS, assertCost, limitRules } from './limits';
import type { CostBudget, CostReport, LimitedCaller } from './rate-limit';

/** The budget a request draws from: its user, else its IP. */
function callerOf(ctx: Context): LimitedCaller {
  return { ip: ctx.ip, userId: ctx.auth?.userId, role: ctx.auth?.role, requestId: ctx.requestId };
}

/**
 * Records the operation name where the request log and metrics can read it, checks the cost,
 * draws it from the caller's cost budget, and reports the budget in `extensions.cost` on every
 * response (a response that ran no operation reports it without drawing).
 */
function operationPlugin(config: Config, schema: GraphQLSchema, checkCost: boolean, budget?: CostBudget): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      let cost: CostReport | undefined;
      return {
        async didResolveOperation({ operationName, document, request, contextValue }) {
          const scope = requestScope.getStore();
          if (scope && operationName) scope.operationName = operationName;
          if (!checkCost) return;
          const computed = assertCost(config, schema, document, request.variables, operationName);
          try {
            cost = await budget?.draw(callerOf(contextValue), computed);
          } catch (err) {
            cost = (err as GraphQLError).extensions?.cost as CostReport | undefined;
            throw err;
          }
        },
        async willSendResponse({ response, contextValue }) {
          if (!budget || response.body.kind !== 'single') return;
          cost ??= await budget.peek(callerOf(contextValue));
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, cost };
        },
      };
    },
  };
}

/** Apollo Server for `/graphql` over HTTP, with every limit and prod hardening switched on. */
export function createApollo(deps: { config: Config; schema: GraphQLSchema; httpServer: http.Server; formatError: FormatError; manifest?: Map<string, string>; bare?: boolean; budget?: CostBudget }) {
  const { config, schema } = deps;
  const prod = config.appEnv === 'prod';
  return new ApolloServer<Context>({
    schema,
    formatError: deps.formatError,
    introspection: !prod || config.limits.allowIntrospection,
    csrfPrevention: true,
    stopOnTerminationSignals: false, // main.ts owns the shutdown order
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: config.appEnv === 'dev',
    hideSchemaDetailsFromClientErrors: prod,
    validationRules: deps.bare ? [] : limitRules(config),
    parseOptions: deps.bare ? {} : { maxTokens: MAX_TOKENS },
    // Automatic persisted queries stay on with Apollo's bounded LRU cache (about 30 MiB);
    // with PERSISTED_QUERIES_ONLY the cache is the committed manifest, read-only.
    persistedQueries: deps.manifest ? { cache: manifestCache(deps.manifest) } : {},
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: deps.httpServer, stopGracePeriodMillis: Math.max(1000, config.shutdownTimeoutMs - 2000) }),
      ApolloServerPluginLandingPageDisabled(),
      operationPlugin(config, schema, !deps.bare, deps.budget),
    ],
  });
}
