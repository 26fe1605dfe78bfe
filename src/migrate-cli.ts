import 'reflect-metadata';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logging/logger';
import { migrate, openDatabase } from './db/orm';
import { ENTITIES, SEALED_ENTITIES } from './entities';

/** `up`: apply pending migrations. `create`: write a migration for the entity changes not yet migrated. */
async function main(command: string | undefined): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  const db = await openDatabase(config, logger, { entities: ENTITIES, sealed: SEALED_ENTITIES, migrate: false });
  try {
    const applied = await migrate(config, db.orm, db.url, logger);
    if (command === 'create') {
      const result = await db.orm.getMigrator().createMigration();
      if (result.diff.up.length === 0) {
        logger.info('entities and migrations agree; no migration written');
      } else {
        logger.info('migration written; add it to src/db/migrations/index.ts', { file: result.fileName });
      }
    } else {
      logger.info('database is up to date', { applied: applied.length });
    }
  } finally {
    await db.close();
  }
}

main(process.argv[2]).catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
