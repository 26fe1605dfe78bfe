import 'reflect-metadata';
import { ConfigError, loadConfig } from './config';
import { writeBackup, type BackupSummary } from './db/backup';
import { BackupError } from './db/backup-format';
import { openDatabase } from './db/orm';
import { restoreBackup } from './db/restore';
import { ENTITIES, SEALED_ENTITIES } from './entities';
import { createLogger } from './logging/logger';
import { isDatabaseError, redactString, safeDatabaseMessage } from './logging/redact';

const USAGE = 'usage: backup-cli.js backup FILE | restore FILE';

/** The failure as one line: never a stack, SQL text, a value from a row or a password from a URL. */
function oneLine(err: unknown): string {
  if (err instanceof ConfigError) return err.message.replace(/\n\s*/g, ' ');
  if (err instanceof BackupError) return err.message;
  if (err instanceof Error && isDatabaseError(err))
    return `PostgreSQL refused it (${String((err as Error & { code?: unknown }).code)}): ${safeDatabaseMessage(err.message)}`;
  return redactString(err instanceof Error ? err.message : String(err));
}

function summary(verb: string, file: string, s: BackupSummary): string {
  return `${verb} ${file}: ${s.tables} tables, ${s.rows} rows, ${s.bytes} bytes, ${s.seconds.toFixed(1)} s`;
}

/**
 * `backup FILE`: a consistent snapshot of the configured database (DATABASE_URL, or the embedded
 * one under DATA_DIR, joined when a server runs it) written to FILE. `restore FILE`: loads FILE
 * into that database, which must be empty. Prints one summary line; never row contents.
 */
async function main(command: string | undefined, file: string | undefined): Promise<string> {
  if ((command !== 'backup' && command !== 'restore') || !file) throw new BackupError(USAGE);
  const config = loadConfig();
  // The summary line is the command's whole output: the log keeps to errors, on stderr. (The
  // development-key warning does not apply: backups copy sealed values as they are, never open them.)
  const logger = createLogger({ level: 'error', stream: process.stderr });
  const db = await openDatabase(config, logger, { entities: ENTITIES, sealed: SEALED_ENTITIES, migrate: false, joinRunning: true });
  try {
    if (command === 'backup') return summary('backup written to', file, await writeBackup(config, db.url, file));
    return summary('restored from', file, await restoreBackup(config, db, file, logger));
  } finally {
    await db.close();
  }
}

/** Exits once the line is written: a pipe (cron, a test) must get the whole line. */
function finish(stream: NodeJS.WriteStream, line: string, code: number): void {
  stream.write(`${line}\n`, () => process.exit(code));
}

main(process.argv[2], process.argv[3]).then(
  (line) => finish(process.stdout, line, 0),
  (err: unknown) => finish(process.stderr, `${process.argv[2] ?? 'backup-cli'} failed: ${oneLine(err)}`, 1),
);
