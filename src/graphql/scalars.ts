import { GraphQLDateTime, GraphQLJSON } from 'graphql-scalars';

/** `DateTime` (ISO-8601 with offset) and `JSON`, the two custom scalars of API.md. */
export { GraphQLDateTime as DateTimeScalar, GraphQLJSON as JSONScalar };

/** type-graphql's map from TypeScript types to our scalars. */
export const SCALARS_MAP = [{ type: Date, scalar: GraphQLDateTime }];
