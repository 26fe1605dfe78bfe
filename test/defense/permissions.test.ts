import { isObjectType } from 'graphql';
import { buildAppSchema } from '../../src/schema';
import { RULES } from '../../src/graphql/permissions';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/orm';
import { ENTITIES, SEALED_ENTITIES } from '../../src/entities';
import { createLogger } from '../../src/logging/logger';
import { startServer } from '../../src/server';
import { FixtureResolver } from '../helpers/fixture.resolver';
import { createTestDatabase, gql, useTestServer } from '../helpers/server';
import { bearer, registerUser } from '../helpers/auth';

describe('permissions', () => {
  it('name every root field explicitly (deny is only the fallback)', async () => {
    const schema = await buildAppSchema();
    const missing: string[] = [];
    for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
      if (!root) continue;
      const rules = (RULES as unknown as Record<string, Record<string, unknown> | undefined>)[root.name] ?? {};
      for (const field of Object.keys(root.getFields())) if (!(field in rules)) missing.push(`${root.name}.${field}`);
    }
    expect(missing).toEqual([]);
  });

  it('cover every object type of the schema', async () => {
    const schema = await buildAppSchema();
    const types = Object.values(schema.getTypeMap())
      .filter((t) => isObjectType(t) && !t.name.startsWith('__'))
      .map((t) => t.name);
    const uncovered = types.filter((name) => !(name in RULES));
    expect(uncovered).toEqual([]);
  });

  it('deny a field no rule names (a new field is closed until a rule opens it)', async () => {
    const database = await createTestDatabase();
    const config = loadConfig({ APP_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: database.url });
    const logger = createLogger({ level: 'error' });
    const db = await openDatabase(config, logger, { entities: ENTITIES, sealed: SEALED_ENTITIES });
    const server = await startServer({ config, logger, db, extraResolvers: [FixtureResolver] }); // no rules for the fixtures
    try {
      const res = await gql(`${server.url}/graphql`, 'mutation { fixtureMutate }');
      expect(res.body.errors[0].extensions.code).toBe('FORBIDDEN');
      expect(res.body.data).toBeNull();
    } finally {
      await server.stop();
      await db.close();
      await database.drop();
    }
  });

  describe('on the running server', () => {
    const t = useTestServer();

    it('answer UNAUTHENTICATED for a user-only field without a token, and let resolver errors keep their codes', async () => {
      expect((await gql(t.graphqlUrl, '{ me { id } }')).body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      const u = await registerUser(t.graphqlUrl);
      const notFound = await gql(t.graphqlUrl, 'mutation { revokeSession(id: "00000000-0000-4000-8000-000000000000") }', undefined, bearer(u.accessToken));
      expect(notFound.body.errors[0].extensions.code).toBe('NOT_FOUND');
    });

    it('let a user read their own email, including in the login payload', async () => {
      const u = await registerUser(t.graphqlUrl);
      const res = await gql(t.graphqlUrl, '{ me { id email } }', undefined, bearer(u.accessToken));
      expect(res.body.data.me.email).toBe(u.email);
    });
  });
});
