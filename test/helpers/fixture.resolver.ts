import { Mutation, Query, Resolver } from 'type-graphql';

/** Counts how often the fixture mutation really ran, so a refusal can be told from a silent run. */
export const fixtureCalls = { mutate: 0 };

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
