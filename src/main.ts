import 'reflect-metadata';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from './config';
import { DEV_SECRET_FILE, loadOrCreateDevSecret } from './dev-secret';
import { ensureInstallation } from './db/installation';
import { openDatabase, type Database } from './db/orm';
import { ENTITIES, SEALED_ENTITIES } from './entities';
import { createLogger, type Logger } from './logging/logger';
import { startServer, type AppServer } from './server';

function flushStdout(): Promise<void> {
  return new Promise((resolve) => process.stdout.write('', () => resolve()));
}

/** Boots Parley: config → database (embedded or DATABASE_URL) → migrations → server; stops cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      console.log(JSON.stringify({ level: 'error', message: 'invalid configuration', problems: err.problems }));
      await flushStdout();
      process.exit(1);
    }
    throw err;
  }
  const logger: Logger = createLogger({ level: config.logLevel });
  if (config.secretKeyGenerated) {
    config.secretKey = loadOrCreateDevSecret(config.dataDir);
    logger.warn('SECRET_KEY is not set: using the development key kept in DATA_DIR (never in prod)', { file: path.join(config.dataDir, DEV_SECRET_FILE) });
  }

  let db: Database | undefined;
  let server: AppServer | undefined;
  let stopping = false;

  const shutdown = async (reason: string, code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { reason });
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting', { timeoutMs: config.shutdownTimeoutMs });
      void flushStdout().then(() => process.exit(1));
    }, config.shutdownTimeoutMs);
    force.unref();
    try {
      await server?.stop();
      await db?.close();
    } catch (err) {
      logger.error('error during shutdown', { err });
      code = code || 1;
    }
    logger.info('stopped', { code });
    await flushStdout();
    process.exit(code);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.once('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('unhandledRejection', (err) => logger.error('unhandled promise rejection', { err }));
  process.on('uncaughtException', (err) => {
    logger.error('uncaught exception', { err });
    void shutdown('uncaughtException', 1);
  });

  try {
    const started = Date.now();
    db = await openDatabase(config, logger, { entities: ENTITIES, sealed: SEALED_ENTITIES });
    const installation = await ensureInstallation(db.orm);
    server = await startServer({ config, logger, db });
    logger.info('ready', { ...installation, url: server.url, startupMs: Date.now() - started, embeddedDatabase: Boolean(db.embedded) });
  } catch (err) {
    logger.error('startup failed', { err });
    await shutdown('startup failed', 1);
  }
}

void main();
