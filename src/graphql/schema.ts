import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema, type NonEmptyArray } from 'type-graphql';
import { AuthResolver } from '../auth/auth.resolver';
import { ModelsResolver } from '../chat/models.resolver';
import { SCALARS_MAP } from './scalars';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type ResolverClass = Function;

/** Every resolver class of the public API. */
export const RESOLVERS: NonEmptyArray<ResolverClass> = [AuthResolver, ModelsResolver];

/** Builds the executable schema from the resolvers (plus test-only ones when given). */
export async function buildAppSchema(extraResolvers: ResolverClass[] = []): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [...RESOLVERS, ...extraResolvers] as NonEmptyArray<ResolverClass>,
    scalarsMap: SCALARS_MAP,
    validate: false,
    emitSchemaFile: false,
  });
}

/** The SDL committed as schema.graphql: sorted, so it only changes when the API does. */
export function printAppSchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
