import { GraphQLDirective, Kind, buildSchema as buildSdl, type ConstArgumentNode, type GraphQLSchema } from 'graphql';
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import { rateLimitDirective } from 'graphql-rate-limit-directive';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type Redis from 'ioredis';
import { RATE_LIMIT_DEFAULTS, type Config, type RateLimitName } from '../config';
import type { Logger } from '../logging/logger';
import type { Role } from './role';
import type { Context } from './context';
import { AppError, RateLimitedError } from './errors';

/** Which configurable limit each rate-limited field uses. */
export const RATE_LIMITED_FIELDS: Record<string, RateLimitName> = {
  'Query.captchaChallenge': 'captcha',
  'Mutation.login': 'login',
  'Mutation.register': 'register',
  'Mutation.refreshSession': 'refresh',
  'Mutation.sendMessage': 'sendMessage',
  'Mutation.regenerateReply': 'sendMessage',
  'Mutation.editMessage': 'sendMessage',
  'Mutation.exportMyData': 'export',
  'Mutation.changePassword': 'passwordCheck',
  'Mutation.deleteMyAccount': 'passwordCheck',
  'Mutation.createApiKey': 'apiKey',
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

/** Fields that count against another field's counter: every way of starting a reply shares sendMessage's. */
const SHARED_COUNTER: Record<string, string> = {
  'Mutation.regenerateReply': 'Mutation.sendMessage',
  'Mutation.editMessage': 'Mutation.sendMessage',
};

/** The limiter key of a field for this caller: per user, or per client IP when anonymous or PER_IP. */
function limiterKey(ctx: Context, coordinate: string): string {
  const who = ctx.auth && !PER_IP.has(coordinate) ? `user:${ctx.auth.userId}` : `ip:${ctx.ip ?? 'unknown'}`;
  return `${SHARED_COUNTER[coordinate] ?? coordinate}:${who}`;
}

/** Who a limit counts against, and the request for the records. */
export interface LimitedCaller {
  ip?: string;
  userId?: string;
  role?: Role;
  requestId?: string;
}

/**
 * Counts one refusal of `limited` for `who` under `key` until the window closes, then writes it
 * as one `security.rate_limited` audit event; true for the window's first refusal. The audit
 * feature implements it (audit/operation-audit.ts), so the kit names no feature.
 */
export type RefusalTally = (who: LimitedCaller, limited: string, key: string, windowMs: number) => boolean;

/**
 * Records one refusal by any rate limit (the `@rateLimit` directive or the cost budget). One
 * `security.rate_limited` audit event (and one `security: true` log line) per limiter key per
 * window, carrying the count: a flood of refusals writes one row, not one per refused field.
 * The event is written when the window closes.
 */
export function recordRateLimited(
  deps: { logger: Logger; tallyRefusal: RefusalTally },
  who: LimitedCaller,
  limited: string,
  key: string,
  windowMs: number,
): void {
  const first = deps.tallyRefusal(who, limited, key, windowMs);
  if (first)
    deps.logger.warn('security event', {
      security: true,
      alert: true,
      event: 'security.rate_limited',
      field: limited,
      ip: who.ip,
      userId: who.userId,
      requestId: who.requestId,
    });
}

/**
 * One configured per-user operation limit enforced outside GraphQL (the OpenAI-compatible door
 * counts against `sendMessage`'s). Same points, key and Redis prefix as the directive's limiter,
 * so with REDIS_URL both doors draw from one counter; in memory each keeps its own.
 */
export class OperationLimit {
  private readonly limiter: RateLimiterAbstract;

  constructor(
    private readonly deps: { config: Config; logger: Logger; tallyRefusal: RefusalTally; redis?: Redis },
    name: RateLimitName,
    private readonly coordinate: string,
  ) {
    const setting = deps.config.rateLimits[name];
    const opts = { points: Math.max(1, Math.floor(setting.limit * deps.config.rateLimitScale)), duration: setting.duration, keyPrefix: 'rateLimit' };
    this.limiter = deps.redis ? new RedisLimiterWithFallback({ ...opts, storeClient: deps.redis }) : new RateLimiterMemory(opts);
  }

  /** Counts one use by a signed-in caller; past the limit records the refusal and throws RATE_LIMITED (reason RATE). */
  async take(who: LimitedCaller & { userId: string }): Promise<void> {
    const key = `${this.coordinate}:user:${who.userId}`;
    try {
      await this.limiter.consume(key, 1);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      recordRateLimited(this.deps, who, this.coordinate, key, err.msBeforeNext);
      throw new RateLimitedError(Math.ceil(err.msBeforeNext / 1000));
    }
  }
}

/** A caller's cost budget as every response reports it in `extensions.cost` (after GitHub's `rateLimit`). */
export interface CostReport {
  /** Points this operation drew: its computed cost, at least 1. */
  requested: number;
  /** The caller's budget per window. */
  limit: number;
  /** Points left in the current window. */
  remaining: number;
  /** Seconds until the window ends and the budget is whole again. */
  resetSeconds: number;
}

/**
 * RATE_LIMIT_COST: every operation, on HTTP and WebSocket, draws its computed cost (at least 1,
 * so free documents are not free to flood) from its caller's budget: per user, or a tenth of it
 * per IP for anonymous callers; times RATE_LIMIT_SCALE. In memory, or in Redis (with the same
 * in-memory insurance as the directive's limits) so every instance draws from one budget.
 */
export class CostBudget {
  private readonly perUser: RateLimiterAbstract;
  private readonly perIp: RateLimiterAbstract;

  constructor(private readonly deps: { config: Config; logger: Logger; tallyRefusal: RefusalTally; redis?: Redis }) {
    const { limit, duration } = deps.config.rateLimits.cost;
    const points = Math.max(1, Math.floor(limit * deps.config.rateLimitScale));
    const make = (p: number, keyPrefix: string) =>
      deps.redis
        ? new RedisLimiterWithFallback({ storeClient: deps.redis, points: p, duration, keyPrefix })
        : new RateLimiterMemory({ points: p, duration, keyPrefix });
    this.perUser = make(points, 'cost:user');
    this.perIp = make(Math.max(1, Math.floor(points / 10)), 'cost:ip');
  }

  private limiterFor(who: LimitedCaller): { limiter: RateLimiterAbstract; key: string } {
    return who.userId ? { limiter: this.perUser, key: who.userId } : { limiter: this.perIp, key: who.ip ?? 'unknown' };
  }

  /** Draws an operation's cost; past the budget, records the refusal and throws RATE_LIMITED (reason COST_BUDGET). */
  async draw(who: LimitedCaller, cost: number): Promise<CostReport> {
    const { limiter, key } = this.limiterFor(who);
    const requested = Math.max(1, Math.ceil(cost));
    try {
      return report(limiter, requested, await limiter.consume(key, requested));
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err; // a store failure the insurance limiter did not absorb
      recordRateLimited(this.deps, who, 'cost_budget', `cost_budget:${key}`, err.msBeforeNext);
      throw costBudgetError(report(limiter, requested, err), err.msBeforeNext);
    }
  }

  /** The caller's budget without drawing from it (for a response that ran no operation). */
  async peek(who: LimitedCaller): Promise<CostReport> {
    const { limiter, key } = this.limiterFor(who);
    const res = await limiter.get(key).catch(() => null);
    return res ? report(limiter, 0, res) : { requested: 0, limit: limiter.points, remaining: limiter.points, resetSeconds: 0 };
  }
}

function report(limiter: RateLimiterAbstract, requested: number, res: RateLimiterRes): CostReport {
  return { requested, limit: limiter.points, remaining: Math.max(0, limiter.points - res.consumedPoints), resetSeconds: Math.ceil(res.msBeforeNext / 1000) };
}

/** RATE_LIMITED for an exhausted budget (over HTTP a 429 with Retry-After: apollo.ts's rateLimitedStatus). */
function costBudgetError(cost: CostReport, msBeforeNext: number): AppError {
  const retryAfterSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new AppError(
    'RATE_LIMITED',
    `Cost budget used up: this operation costs ${cost.requested} and ${cost.remaining} of ${cost.limit} points are left; try again in ${retryAfterSeconds} s`,
    {
      reason: 'COST_BUDGET',
      retryAfterSeconds,
      cost,
    },
  );
}

/**
 * Per-operation rate limits through graphql-rate-limit-directive on rate-limiter-flexible:
 * in memory, or in Redis when REDIS_URL is set so every instance shares the counters (a
 * memory limiter stands in while Redis is unreachable). Over the limit: RATE_LIMITED with
 * retryAfterSeconds; per limiter key and window, one security log line and one
 * `security.rate_limited` audit event whose `metadata.count` says how many were refused.
 */
export function rateLimiting(deps: { config: Config; logger: Logger; tallyRefusal: RefusalTally; redis?: Redis }) {
  const { config, logger, tallyRefusal, redis } = deps;
  const limiterClass = redis ? RedisLimiterWithFallback : RateLimiterMemory;
  const { rateLimitDirectiveTransformer } = rateLimitDirective<Context, Record<string, unknown>>({
    limiterClass,
    limiterOptions: redis ? { storeClient: redis } : {},
    keyGenerator: (_args, _source, _fieldArgs, ctx, info) => limiterKey(ctx, `${info.parentType.name}.${info.fieldName}`),
    onLimit: async (res: RateLimiterRes, _args, _source, _fieldArgs, ctx, info) => {
      const field = `${info.parentType.name}.${info.fieldName}`;
      const retryAfterSeconds = Math.ceil(res.msBeforeNext / 1000);
      recordRateLimited(
        { logger, tallyRefusal },
        { ip: ctx.ip, userId: ctx.auth?.userId, role: ctx.auth?.role, requestId: ctx.requestId },
        field,
        limiterKey(ctx, field),
        res.msBeforeNext,
      );
      throw new RateLimitedError(retryAfterSeconds, undefined, 'RATE');
    },
  });
  return {
    /** The executable schema with the configured limits enforced. */
    apply(schema: GraphQLSchema): GraphQLSchema {
      return rateLimitDirectiveTransformer(applyConfiguredLimits(schema, config));
    },
  };
}
