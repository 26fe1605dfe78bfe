import { GraphQLDirective, Kind, buildSchema as buildSdl, type ConstArgumentNode, type GraphQLSchema } from 'graphql';
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import { rateLimitDirective } from 'graphql-rate-limit-directive';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterRes } from 'rate-limiter-flexible';
import type Redis from 'ioredis';
import { RATE_LIMIT_DEFAULTS, type Config, type RateLimitName } from '../config';
import { AuditOutcome } from '../audit/audit-event.entity';
import type { AuditService } from '../audit/audit.service';
import type { Logger } from '../logging/logger';
import type { Context } from './context';
import { RateLimitedError } from './errors';

/** Which configurable limit each rate-limited field uses. */
export const RATE_LIMITED_FIELDS: Record<string, RateLimitName> = {
  'Query.captchaChallenge': 'captcha',
  'Mutation.login': 'login',
  'Mutation.register': 'register',
  'Mutation.refreshSession': 'refresh',
  'Mutation.sendMessage': 'sendMessage',
  'Mutation.exportMyData': 'export',
  'Mutation.changePassword': 'passwordCheck',
  'Mutation.deleteMyAccount': 'passwordCheck',
  'Query.auditEvents': 'admin',
  'Query.verifyAuditChain': 'admin',
  'Query.users': 'admin',
  'Query.securitySummary': 'admin',
};

/** Fields counted per client IP even for a signed-in caller (anonymous by nature). */
const PER_IP = new Set(['Query.captchaChallenge', 'Mutation.login', 'Mutation.register', 'Mutation.refreshSession']);

const SDL_DIRECTIVE = rateLimitDirective().rateLimitDirectiveTypeDefs;

/** The `@rateLimit(limit, duration)` directive definition, for type-graphql's schema. */
export const RATE_LIMIT_DIRECTIVE: GraphQLDirective = buildSdl(`${SDL_DIRECTIVE}\ntype Query { x: Int }`).getDirective('rateLimit')!;

/** The `@rateLimit` a field carries in schema.graphql: the default of its configurable limit. */
export function rateLimitOf(name: RateLimitName): string {
  const d = RATE_LIMIT_DEFAULTS[name];
  return `@rateLimit(limit: ${d.limit}, duration: ${d.duration})`;
}

/** Redis-backed, with an in-memory limiter of the same size standing in while Redis is unreachable. */
class RedisLimiterWithFallback extends RateLimiterRedis {
  constructor(opts: ConstructorParameters<typeof RateLimiterRedis>[0]) {
    super({ ...opts, insuranceLimiter: new RateLimiterMemory({ points: opts.points, duration: opts.duration, keyPrefix: opts.keyPrefix }) });
  }
}

function intArg(name: string, value: number): ConstArgumentNode {
  return { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: name }, value: { kind: Kind.INT, value: String(value) } };
}

/** Rewrites each field's `@rateLimit` arguments to the configured limit times RATE_LIMIT_SCALE. */
function applyConfiguredLimits(schema: GraphQLSchema, config: Config): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig, fieldName, typeName) => {
      const name = RATE_LIMITED_FIELDS[`${typeName}.${fieldName}`];
      const ast = fieldConfig.astNode;
      if (!name || !ast) return fieldConfig;
      const setting = config.rateLimits[name];
      const limit = Math.max(1, Math.floor(setting.limit * config.rateLimitScale));
      const directives = (ast.directives ?? []).map((d) =>
        d.name.value === 'rateLimit' ? { ...d, arguments: [intArg('limit', limit), intArg('duration', setting.duration)] } : d,
      );
      return { ...fieldConfig, astNode: { ...ast, directives } };
    },
  });
}

/** The limiter key of a field for this caller: per user, or per client IP when anonymous or PER_IP. */
function limiterKey(ctx: Context, coordinate: string): string {
  const who = ctx.auth && !PER_IP.has(coordinate) ? `user:${ctx.auth.userId}` : `ip:${ctx.ip ?? 'unknown'}`;
  return `${coordinate}:${who}`;
}

/**
 * Per-operation rate limits through graphql-rate-limit-directive on rate-limiter-flexible:
 * in memory, or in Redis when REDIS_URL is set so every instance shares the counters (a
 * memory limiter stands in while Redis is unreachable). Over the limit: RATE_LIMITED with
 * retryAfterSeconds; per limiter key and window, one security log line and one
 * `security.rate_limited` audit event whose `metadata.count` says how many were refused.
 */
export function rateLimiting(deps: { config: Config; logger: Logger; audit: AuditService; redis?: Redis }) {
  const { config, logger, audit, redis } = deps;
  const limiterClass = redis ? RedisLimiterWithFallback : RateLimiterMemory;
  const { rateLimitDirectiveTransformer } = rateLimitDirective<Context, Record<string, unknown>>({
    limiterClass: limiterClass as never,
    limiterOptions: redis ? { storeClient: redis } : {},
    keyGenerator: (_args, _source, _fieldArgs, ctx, info) => limiterKey(ctx, `${info.parentType.name}.${info.fieldName}`),
    onLimit: async (res: RateLimiterRes, _args, _source, _fieldArgs, ctx, info) => {
      const field = `${info.parentType.name}.${info.fieldName}`;
      const retryAfterSeconds = Math.ceil(res.msBeforeNext / 1000);
      // One event (and one log line) per limiter key per window, carrying the count: a flood of
      // refused fields writes one row, not one per field. Written when the window closes.
      const first = audit.tally(
        limiterKey(ctx, field),
        { action: 'security.rate_limited', outcome: AuditOutcome.DENIED, actorId: ctx.auth?.userId ?? null, actorRole: ctx.auth?.role ?? null, resourceType: 'operation', resourceId: field, ip: ctx.ip, requestId: ctx.requestId },
        res.msBeforeNext,
      );
      if (first) logger.warn('security event', { security: true, alert: true, event: 'security.rate_limited', field, ip: ctx.ip, userId: ctx.auth?.userId, requestId: ctx.requestId });
      throw new RateLimitedError(retryAfterSeconds);
    },
  });
  return {
    /** The executable schema with the configured limits enforced. */
    apply(schema: GraphQLSchema): GraphQLSchema {
      return rateLimitDirectiveTransformer(applyConfiguredLimits(schema, config));
    },
  };
}
