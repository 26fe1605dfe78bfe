import type { ResolverClass } from '../../src/schema';
import { allow } from 'graphql-shield';
import { Arg, Ctx, Directive, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { Context } from '../../src/graphql/context';
import { NotFoundError } from '../../src/graphql/errors';

/** Counts how often the fixture mutation really ran, so a refusal can be told from a silent run. */
export const fixtureCalls = { mutate: 0, slowStarted: 0 };

/** Test-only operations (never in schema.graphql): a mutation, and a resolver that fails unexpectedly. */
@Resolver()
export class FixtureResolver {
  @Mutation(() => Boolean, { description: 'Test fixture: counts its calls.' })
  fixtureMutate(): boolean {
    fixtureCalls.mutate += 1;
    return true;
  }

  @Query(() => String, { description: 'Test fixture: throws an error carrying internals.' })
  fixtureExplode(): string {
    const err = new Error('relation "secret_table" does not exist at /srv/app/src/db.ts:42');
    throw err;
  }
}

/** Test-only: a query that takes `ms` to answer, to observe in-flight requests during shutdown. */
@Resolver()
export class SlowFixtureResolver {
  @Query(() => String, { description: 'Test fixture: answers after a delay.' })
  async fixtureSlow(@Arg('ms', () => Int, { description: 'Delay in milliseconds.' }) ms: number): Promise<string> {
    fixtureCalls.slowStarted += 1;
    await new Promise((r) => setTimeout(r, ms));
    return 'finished';
  }
}

/** The value the database-error fixture sends: a time PostgreSQL cannot hold. */
export const DB_ERROR_VALUE = '-271821-04-20T00:00:00.000Z';

/** Test-only: a statement the database refuses, with a value, as any query could fail (its SQL and value must reach nobody). */
@Resolver()
export class DbErrorFixtureResolver {
  @Query(() => String, { description: 'Test fixture: runs a statement PostgreSQL refuses.' })
  async fixtureDbError(@Ctx() ctx: Context): Promise<string> {
    await ctx.em.getConnection().execute('select ?::timestamptz as t', [DB_ERROR_VALUE]);
    return 'unreachable';
  }
}

/**
 * Test-only: nullable fields, one under a real `@rateLimit` of one call an hour per caller and one
 * that is always NOT_FOUND, so a response can mix a rate limit with another error (every
 * rate-limited field of the schema is non-null, and a failing one nulls the whole response).
 */
@Resolver()
export class LimitFixtureResolver {
  @Directive('@rateLimit(limit: 1, duration: 3600)')
  @Query(() => String, { nullable: true, description: 'Test fixture: one call an hour per caller.' })
  fixtureLimited(): string {
    return 'ok';
  }

  @Query(() => String, { nullable: true, description: 'Test fixture: always NOT_FOUND.' })
  fixtureMissing(): string {
    throw new NotFoundError('Fixture');
  }
}

/** Permission rules that open the given fixtures (everything else stays deny-by-default). */
export function fixtureRules(resolvers: ResolverClass[]) {
  const query: Record<string, typeof allow> = {};
  const mutation: Record<string, typeof allow> = {};
  if (resolvers.includes(FixtureResolver)) {
    query.fixtureExplode = allow;
    mutation.fixtureMutate = allow;
  }
  if (resolvers.includes(SlowFixtureResolver)) query.fixtureSlow = allow;
  if (resolvers.includes(DbErrorFixtureResolver)) query.fixtureDbError = allow;
  if (resolvers.includes(LimitFixtureResolver)) query.fixtureLimited = query.fixtureMissing = allow;
  return { Query: query, ...(Object.keys(mutation).length ? { Mutation: mutation } : {}) };
}
