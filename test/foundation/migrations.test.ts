import { createTestDatabase } from '../helpers/server';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/orm';
import { ENTITIES, SEALED_ENTITIES } from '../../src/entities';
import { createLogger } from '../../src/logging/logger';

describe('migrations', () => {
  it('bring an empty database exactly to the entities (nothing left for schema:update)', async () => {
    const database = await createTestDatabase();
    const config = loadConfig({ APP_ENV: 'test', DATABASE_URL: database.url });
    const db = await openDatabase(config, createLogger({ level: 'error' }), { entities: ENTITIES, sealed: SEALED_ENTITIES });
    try {
      const pending = await db.orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
      expect(pending.trim()).toBe('');
      const executed = await db.orm.getMigrator().getExecutedMigrations();
      expect(executed.map((m) => m.name)).toContain('Migration20261128000000');
    } finally {
      await db.close();
      await database.drop();
    }
  });

  it('are idempotent: a second run applies nothing', async () => {
    const database = await createTestDatabase();
    const config = loadConfig({ APP_ENV: 'test', DATABASE_URL: database.url });
    const logger = createLogger({ level: 'error' });
    const first = await openDatabase(config, logger, { entities: ENTITIES, sealed: SEALED_ENTITIES });
    await first.close();
    const second = await openDatabase(config, logger, { entities: ENTITIES, sealed: SEALED_ENTITIES, migrate: false });
    try {
      expect(await second.orm.getMigrator().getPendingMigrations()).toEqual([]);
    } finally {
      await second.close();
      await database.drop();
    }
  });
});
