import { isObjectType } from 'graphql';
import { allow } from 'graphql-shield';
import type { IMiddlewareTypeMap } from 'graphql-middleware';
import { buildAppSchema } from '../../src/schema';
import { RULES, permissions } from '../../src/graphql/permissions';
import { FixtureResolver } from '../helpers/fixture.resolver';

// Only fields whose rule is `allow` skip the permission middleware (a speed-up); every other
// field, and every field no rule names, is still wrapped, so deny stays the default.
describe('permission wrapping', () => {
  it('wraps every field but the allowed ones, including fields no rule names', async () => {
    const schema = await buildAppSchema([FixtureResolver]); // the fixture's fields are named by no rule
    const map = permissions().generate(schema) as IMiddlewareTypeMap;
    const wrapped = (type: string, field: string) => Boolean((map[type] as Record<string, unknown> | undefined)?.[field]);
    const rules = RULES as Record<string, unknown>;
    let unwrapped = 0;
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.keys(type.getFields())) {
        const forType = rules[type.name] as Record<string, unknown> | undefined;
        const rule = (forType as unknown) === allow ? allow : (forType?.[field] ?? forType?.['*']);
        if (rule === allow) unwrapped++;
        expect([`${type.name}.${field}`, wrapped(type.name, field)]).toEqual([`${type.name}.${field}`, rule !== allow]);
      }
    }
    expect(unwrapped).toBeGreaterThan(50);
    for (const [type, field] of [
      ['Query', 'me'],
      ['User', 'email'],
      ['User', 'usage'],
      ['Mutation', 'fixtureMutate'],
      ['Query', 'fixtureExplode'],
      ['Subscription', 'messageStream'],
    ])
      expect([type, field, wrapped(type, field)]).toEqual([type, field, true]);
    expect([wrapped('Query', 'models'), wrapped('Message', 'content')]).toEqual([false, false]);
  });
});
