import 'reflect-metadata';
import { ConfigError, loadConfig } from './config';
import { cipherOf } from './crypto/cipher';
import { rotateKeys, rotationFailed, statusLine } from './crypto/rotation';
import { openDatabase } from './db/orm';
import { ENTITIES, SEALED_ENTITIES } from './entities';
import { createLogger } from './logging/logger';

const USAGE = 'usage: npm run rotate-keys [-- [--reencrypt [--no-wait]] [--batch N]]  (N: 1 to 10000, default 500)';

class UsageError extends Error {}

/** The command line's options; a UsageError for anything else. */
function parseArgs(argv: string[]): { reencrypt: boolean; wait: boolean; batch: number } {
  const opts = { reencrypt: false, wait: true, batch: 500 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--reencrypt') opts.reencrypt = true;
    else if (arg === '--no-wait') opts.wait = false;
    else if (arg === '--batch' || arg.startsWith('--batch=')) {
      const value = arg === '--batch' ? argv[++i] : arg.slice('--batch='.length);
      if (!/^\d{1,5}$/.test(value ?? '') || Number(value) < 1 || Number(value) > 10_000) throw new UsageError('--batch must be a whole number from 1 to 10000');
      opts.batch = Number(value);
    } else throw new UsageError(`unknown argument ${JSON.stringify(arg.slice(0, 40))}`);
  }
  if (!opts.wait && !opts.reencrypt) throw new UsageError('--no-wait only applies with --reencrypt');
  return opts;
}

/** Re-wraps data keys under the current key-encryption key (and with --reencrypt replaces them); ends with one status line on stdout. */
async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const config = loadConfig();
  // stdout carries the status line alone; progress, warnings and errors go to stderr.
  const logger = createLogger({ level: config.logLevel, stream: process.stderr });
  // Opened like the server (development key, embedded database: the one a running server serves, if any),
  // but it neither migrates nor seals plain rows: the servers do that.
  const db = await openDatabase(config, logger, { entities: ENTITIES, sealed: SEALED_ENTITIES, migrate: false, joinRunning: true });
  try {
    const report = await rotateKeys(
      db.orm,
      cipherOf(db.orm.em),
      {
        ...args,
        graceSeconds: config.encryption.dataKeyCacheSeconds + Math.ceil(config.db.statementTimeoutMs / 1000) + 5,
      },
      logger,
    );
    process.stdout.write(`${statusLine(report)}\n`);
    return rotationFailed(report) ? 1 : 0;
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) console.error(`${err.message}\n${USAGE}`);
    else if (err instanceof ConfigError) console.error(err.message);
    else if ((err as { code?: string }).code === '42P01') console.error('the database is not migrated (no user_key table): run npm run migrate first');
    else console.error(err);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
