import fs from 'node:fs';
import path from 'node:path';
import { MikroORM, defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import pg from 'pg';
import type { Config } from '../config';
import type { Logger } from '../logging/logger';
import { runningEmbeddedPostgres, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';
import { MIGRATIONS } from './migrations';
import { installEncryption, type SealedEntities } from '../crypto/install';
import type { Sql } from '../crypto/data-keys';
import { DEV_ENCRYPTION_KEY_FILE, useDevEncryptionKey } from '../dev-secret';

/** The database the process works in: the ORM, its URL, and the embedded server when there is one. */
export interface Database {
  orm: MikroORM;
  url: string;
  embedded?: EmbeddedPostgres;
  close(): Promise<void>;
}

/** Arbitrary but fixed: serialises migrations when several instances start against one database. */
const MIGRATION_LOCK_KEY = 7_283_115_001;
const EMBEDDED_DB_NAME = 'parley';

function sslOptions(config: Config): pg.ClientConfig['ssl'] {
  switch (config.db.ssl) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-full':
      return { rejectUnauthorized: true, ...(config.db.caFile ? { ca: fs.readFileSync(config.db.caFile, 'utf8') } : {}) };
  }
}

/** Connection settings pg applies to every pooled connection, so no query can run unbounded. */
export function connectionOptions(config: Config): pg.ClientConfig {
  return {
    ssl: sslOptions(config),
    statement_timeout: config.db.statementTimeoutMs,
    idle_in_transaction_session_timeout: Math.max(config.db.statementTimeoutMs * 4, 60_000),
    connectionTimeoutMillis: 5000,
    application_name: 'parley',
  };
}

/** Every entity class, listed by the caller (src/entities.ts) so the kit names no feature. */
export type EntityList = NonNullable<Options['entities']>;

/** MikroORM options for `clientUrl` over `entities`; shared by the server, `npm run migrate` and mikro-orm.config.ts. */
export function ormOptions(config: Config, clientUrl: string, entities: EntityList, logger?: Logger): Options {
  return defineConfig({
    clientUrl,
    entities,
    extensions: [Migrator],
    forceUtcTimezone: true,
    allowGlobalContext: false,
    pool: { min: 0, max: config.db.poolMax, acquireTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 },
    driverOptions: {
      connection: connectionOptions(config),
      // knex would print to the console; its messages belong in the structured log.
      log: {
        warn: (message: unknown) => logger?.warn('knex', { output: String(message) }),
        error: (message: unknown) => logger?.warn('knex', { output: String(message) }),
        deprecate: (message: unknown) => logger?.debug('knex', { output: String(message) }),
        debug: (message: unknown) => logger?.debug('knex', { output: String(message) }),
      },
    },
    migrations: {
      migrationsList: MIGRATIONS,
      tableName: 'mikro_orm_migrations',
      path: path.join(__dirname, 'migrations'),
      // Where `npm run migration:create` writes new files (run from the repository root).
      pathTs: path.resolve('src', 'db', 'migrations'),
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
    },
    debug: false,
    logger: (message) => logger?.debug(message, { component: 'orm' }),
  });
}

/** Client settings for `url`: fields taken one by one (not connectionString), so `sslmode` in the URL cannot override DATABASE_SSL. */
function clientConfig(config: Config, url: string): pg.ClientConfig {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname),
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined,
    ...connectionOptions(config),
  };
}

/**
 * A small pool of its own for the data-key store: a key is read or made while the caller's
 * transaction may hold the ORM pool's connections (ten sends of one user queue on its row lock,
 * each holding one), so sharing that pool could wait forever for a free connection.
 */
function keyStorePool(config: Config, url: string): { sql: Sql; end(): Promise<void> } {
  const pool = new pg.Pool({ ...clientConfig(config, url), max: 2, idleTimeoutMillis: 30_000 });
  pool.on('error', () => undefined); // an idle client's error; the next query reports its own
  return {
    sql: async <T>(text: string, params: unknown[]) => {
      let n = 0;
      return (
        await pool.query(
          text.replace(/\?/g, () => `$${++n}`),
          params,
        )
      ).rows as T[];
    },
    end: () => pool.end(),
  };
}

/** A single connected `pg` client on `url` with the pool's settings (timeouts, TLS); the caller ends it. */
export async function connectClient(config: Config, url: string): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(config, url));
  // A dropped connection also fails the running query, which reports it; without a listener the
  // client's own 'error' event would crash the process instead.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function withClient<T>(config: Config, url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectClient(config, url);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ensureDatabase(config: Config, adminUrl: string, name: string): Promise<string> {
  await withClient(config, adminUrl, async (c) => {
    const found = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`);
  });
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Applies pending migrations (up to and including `to` when given), holding an advisory lock so concurrent instances take turns. */
export async function migrate(config: Config, orm: MikroORM, url: string, logger: Logger, to?: string): Promise<string[]> {
  return withClient(config, url, async (c) => {
    await c.query('SET statement_timeout = 0');
    await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const applied = await orm.getMigrator().up(to === undefined ? undefined : { to });
      const names = applied.map((m) => m.name);
      if (names.length > 0) logger.info('migrations applied', { migrations: names });
      return names;
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  });
}

/**
 * Opens DATABASE_URL, or starts the embedded PostgreSQL under DATA_DIR, then (by default) migrates.
 * With `joinRunning`, an embedded PostgreSQL a running server already serves for DATA_DIR is used
 * as it is (and left running on close) instead of being replaced.
 */
export async function openDatabase(
  config: Config,
  logger: Logger,
  opts: { entities: EntityList; sealed: SealedEntities; migrate?: boolean; joinRunning?: boolean },
): Promise<Database> {
  if (useDevEncryptionKey(config)) {
    logger.warn('DATA_ENCRYPTION_KEYS is not set: using the development key kept in DATA_DIR (never in prod)', {
      file: path.join(config.dataDir, DEV_ENCRYPTION_KEY_FILE),
    });
  }
  let embedded: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  const running = url === undefined && opts.joinRunning ? runningEmbeddedPostgres(config.dataDir) : undefined;
  if (running) {
    url = await ensureDatabase(config, running.url, EMBEDDED_DB_NAME);
    logger.info('using the embedded PostgreSQL a running server started', { pid: running.pid });
  } else if (url === undefined) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, logger });
    url = await ensureDatabase(config, embedded.url, EMBEDDED_DB_NAME).catch(async (err) => {
      await embedded?.stop();
      throw err;
    });
  }
  let orm: MikroORM;
  const keys = keyStorePool(config, url);
  try {
    orm = await MikroORM.init(ormOptions(config, url, opts.entities, logger));
    if (opts.migrate !== false) await migrate(config, orm, url, logger);
    await installEncryption(orm, config, keys.sql, opts.sealed, logger, { sealPlain: opts.migrate !== false });
  } catch (err) {
    await keys.end().catch(() => undefined);
    await embedded?.stop();
    throw err;
  }
  return {
    orm,
    url,
    embedded,
    async close() {
      await orm.close(true).catch((err: unknown) => logger.error('closing the ORM failed', { err }));
      await keys.end().catch(() => undefined);
      await embedded?.stop();
    },
  };
}

/** True when the database answers `select 1` within `timeoutMs`. */
export async function databaseAnswers(orm: MikroORM, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const probe = orm.em
    .getConnection()
    .execute('select 1')
    .then(() => true)
    .catch(() => false);
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
