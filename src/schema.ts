import { lexicographicSortSchema, specifiedDirectives, type GraphQLSchema } from 'graphql';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { applyMiddleware } from 'graphql-middleware';
import type { IRules } from 'graphql-shield';
import { createPubSub } from '@graphql-yoga/subscription';
import { buildSchema, type NonEmptyArray } from 'type-graphql';
import type Redis from 'ioredis';
import { AdminResolver, UserAdminResolver } from './admin/admin.resolver';
import { ApiKeyResolver } from './auth/api-key.resolver';
import { AuthResolver } from './auth/auth.resolver';
import { ChatEventsResolver } from './chat/chat-events.resolver';
import { ChatResolver, ConversationResolver, MessageStreamEventResolver } from './chat/chat.resolver';
import { ModelsResolver } from './chat/models.resolver';
import { UploadLimitsResolver } from './chat/upload-limits';
import { TokenUsageResolver, UsageResolver } from './chat/usage.resolver';
import { PrivacyResolver } from './privacy/privacy.resolver';
import type { Config } from './config';
import type { Logger } from './logging/logger';
import { inputHygiene } from './graphql/input-hygiene';
import { permissions } from './graphql/permissions';
import { RATE_LIMIT_DIRECTIVE, rateLimiting, type RefusalTally } from './graphql/rate-limit';
import { SCALARS_MAP } from './graphql/scalars';

/** A type-graphql resolver class. */
export type ResolverClass = abstract new (...args: never[]) => object;

/** Every resolver class of the public API. */
export const RESOLVERS: NonEmptyArray<ResolverClass> = [
  AdminResolver,
  ApiKeyResolver,
  AuthResolver,
  ChatEventsResolver,
  ChatResolver,
  ConversationResolver,
  MessageStreamEventResolver,
  ModelsResolver,
  PrivacyResolver,
  TokenUsageResolver,
  UploadLimitsResolver,
  UsageResolver,
  UserAdminResolver,
];

/** Builds the schema from the resolvers (plus test-only ones when given): types, fields, directives. */
export async function buildAppSchema(extraResolvers: ResolverClass[] = []): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [...RESOLVERS, ...extraResolvers] as NonEmptyArray<ResolverClass>,
    scalarsMap: SCALARS_MAP,
    directives: [...specifiedDirectives, RATE_LIMIT_DIRECTIVE],
    validate: { forbidUnknownValues: false },
    // type-graphql insists on one; every subscription here brings its own `subscribe`, so it stays unused.
    pubSub: createPubSub(),
    emitSchemaFile: false,
  });
}

/** The SDL committed as schema.graphql: sorted, with directive usages, so it only changes when the API does. */
export function printAppSchema(schema: GraphQLSchema): string {
  return `${printSchemaWithDirectives(lexicographicSortSchema(schema))}\n`;
}

/** The schema the server executes: configured rate limits enforced, then graphql-shield permissions. */
export async function buildExecutableSchema(deps: {
  config: Config;
  logger: Logger;
  tallyRefusal: RefusalTally;
  redis?: Redis;
  extraResolvers?: ResolverClass[];
  extraRules?: IRules;
}): Promise<GraphQLSchema> {
  const base = await buildAppSchema(deps.extraResolvers);
  const limited = rateLimiting(deps).apply(base);
  // Outermost first: permissions decide before any input is even looked at.
  return applyMiddleware(limited, permissions(deps.extraRules), inputHygiene(limited));
}
