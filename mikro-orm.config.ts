import 'reflect-metadata';
import { loadConfig } from './src/config';
import { ormOptions } from './src/db/orm';
import { ENTITIES } from './src/entities';

/**
 * MikroORM options for tools that read this file (DATABASE_URL must be set for them).
 * The server and `npm run migrate` build the same options through src/db/orm.ts.
 */
const config = loadConfig();
export default ormOptions(config, config.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/parley', ENTITIES);
