import fs from 'node:fs';
import type pg from 'pg';
import type { Config } from '../config';
import type { Logger } from '../logging/logger';
import type { BackupSummary } from './backup';
import { BackupError, type BackupHeader } from './backup-format';
import { scanBackup, verifyBackup } from './backup-reader';
import { BOOKKEEPING_TABLES, appliedMigrations, firstTableWithRows, listTables } from './catalog';
import { MIGRATIONS } from './migrations';
import { connectClient, migrate, type Database } from './orm';
import { copyIn } from './pg-copy';

/** Refuses a backup whose schema this code cannot build: a migration it does not have, or another order. */
function checkSchema(header: BackupHeader, known: string[]): void {
  const missing = header.migrations.filter((name) => !known.includes(name));
  if (missing.length > 0)
    throw new BackupError(
      `the backup's schema is newer than this version of Parley: it has migrations this code lacks (${missing.join(', ')}); restore with a newer Parley`,
    );
  if (header.migrations.length === 0) throw new BackupError('the backup names no applied migration: it holds no Parley schema');
  if (header.migrations.some((name, i) => known[i] !== name))
    throw new BackupError("the backup's migrations do not run in this code's order; restore with the Parley that wrote it");
}

function notEmpty(table: string): BackupError {
  return new BackupError(`the database is not empty (table ${table} has rows): restore only into an empty database; nothing was changed`);
}

/** Refuses a target that holds someone's data. */
async function refuseData(client: pg.Client): Promise<void> {
  const full = await firstTableWithRows(
    client,
    (await listTables(client)).map((t) => t.name),
  );
  if (full) throw notEmpty(full);
}

/** Refuses a target whose schema is ahead of the backup's (it cannot be taken back); returns how many of the backup's migrations it lacks. */
async function migrationsLacking(client: pg.Client, header: BackupHeader): Promise<number> {
  const applied = await appliedMigrations(client);
  if (applied.some((name, i) => header.migrations[i] !== name))
    throw new BackupError(
      `the database's schema (${applied.length} migrations) is ahead of the backup's (${header.migrations.length}): restore into a new database`,
    );
  return header.migrations.length - applied.length;
}

/** Loads every table inside the open transaction, in the file's (foreign-key) order, checking COPY's own counts. */
async function loadTables(client: pg.Client, file: string): Promise<void> {
  await scanBackup(file, async (table, data) => {
    const columns = table.columns.map((c) => client.escapeIdentifier(c)).join(', ');
    const rows = await copyIn(client, `COPY ${client.escapeIdentifier(table.name)} (${columns}) FROM STDIN`, data);
    if (rows !== table.rows) throw new BackupError(`table ${table.name} loaded ${rows} rows, the backup holds ${table.rows}`);
  });
}

/** Sets each sequence where the backup found it, then checks every table holds exactly the backup's rows. */
async function finish(client: pg.Client, header: BackupHeader): Promise<void> {
  for (const seq of header.sequences) {
    await client.query('select setval($1::regclass, $2::bigint, $3)', [client.escapeIdentifier(seq.name), seq.value, seq.isCalled]);
  }
  for (const table of header.tables) {
    const { rows } = await client.query<{ n: string }>(`select count(*) as n from ${client.escapeIdentifier(table.name)}`);
    if (Number(rows[0].n) !== table.rows) throw new BackupError(`table ${table.name} holds ${rows[0].n} rows after the restore, the backup ${table.rows}`);
  }
}

/**
 * The load, in one transaction: every table locked (no server writes meanwhile), checked empty
 * again, the bookkeeping rows (migrations, installation id) replaced by the backup's, each
 * table copied in, sequences set, counts verified, then COMMIT. Any failure ends the connection
 * before COMMIT, so PostgreSQL rolls everything back.
 */
async function load(client: pg.Client, config: Config, file: string, header: BackupHeader): Promise<void> {
  await client.query('BEGIN');
  await client.query('SET LOCAL statement_timeout = 0'); // a large table takes longer than a request may
  await client.query(`SET LOCAL lock_timeout = ${Math.max(config.db.statementTimeoutMs, 1000)}`);
  const names = (await listTables(client)).map((t) => t.name);
  await client.query(`LOCK TABLE ${names.map((n) => client.escapeIdentifier(n)).join(', ')} IN ACCESS EXCLUSIVE MODE`);
  const full = await firstTableWithRows(client, names);
  if (full) throw notEmpty(full);
  for (const name of BOOKKEEPING_TABLES.filter((n) => names.includes(n))) await client.query(`DELETE FROM ${client.escapeIdentifier(name)}`);
  await loadTables(client, file);
  await finish(client, header);
  await client.query('COMMIT');
}

/**
 * Restores `file` into the (empty) database of `db`: reads the whole file first (a truncated or
 * corrupt one is refused before anything is written), refuses a schema newer than this code's
 * migrations and a database holding data, migrates the database to the backup's schema version,
 * then loads it in one transaction. The server's next start applies any later migrations.
 */
export async function restoreBackup(config: Config, db: Pick<Database, 'orm' | 'url'>, file: string, logger: Logger): Promise<BackupSummary> {
  const started = Date.now();
  const check = await connectClient(config, db.url);
  let header: BackupHeader;
  let lacking: number;
  try {
    await refuseData(check); // first: the quickest refusal, before reading a large file
    header = await verifyBackup(file);
    checkSchema(
      header,
      MIGRATIONS.map((m) => m.name),
    );
    lacking = await migrationsLacking(check, header);
  } finally {
    await check.end().catch(() => undefined);
  }
  if (lacking > 0) await migrate(config, db.orm, db.url, logger, header.migrations[header.migrations.length - 1]);
  const client = await connectClient(config, db.url);
  try {
    await load(client, config, file, header);
  } finally {
    await client.end().catch(() => undefined);
  }
  const rows = header.tables.reduce((sum, t) => sum + t.rows, 0);
  return { tables: header.tables.length, rows, bytes: fs.statSync(file).size, seconds: (Date.now() - started) / 1000 };
}
