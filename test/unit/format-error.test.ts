import { GraphQLError } from 'graphql';
import { createFormatError } from '../../src/graphql/format-error';
import { createLogger } from '../../src/logging/logger';

describe('error codes from libraries', () => {
  it("map type-graphql's UNAUTHORIZED to FORBIDDEN", () => {
    const format = createFormatError('test', createLogger({ level: 'error' }));
    const err = new GraphQLError('Access denied!', { extensions: { code: 'UNAUTHORIZED' } });
    expect(format(err.toJSON(), err).extensions?.code).toBe('FORBIDDEN');
  });
});
