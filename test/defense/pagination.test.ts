import { GraphQLError } from 'graphql';
import { createFormatError } from '../../src/graphql/format-error';
import { MAX_PAGE_SIZE, pageSize } from '../../src/graphql/pagination';
import { createLogger } from '../../src/logging/logger';

describe('page sizes', () => {
  it('default to 20, allow 1 to 100, and refuse anything else with BAD_USER_INPUT', () => {
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(1)).toBe(1);
    expect(pageSize(MAX_PAGE_SIZE)).toBe(100);
    for (const bad of [0, -1, 101, 1.5]) {
      expect(() => pageSize(bad)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'first' }) }));
    }
  });
});

describe('error codes from libraries', () => {
  it("map type-graphql's UNAUTHORIZED to FORBIDDEN", () => {
    const format = createFormatError('test', createLogger({ level: 'error' }));
    const err = new GraphQLError('Access denied!', { extensions: { code: 'UNAUTHORIZED' } });
    expect(format(err.toJSON(), err).extensions?.code).toBe('FORBIDDEN');
  });
});
