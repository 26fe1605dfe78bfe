import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type pg from 'pg';
import type { Config } from '../config';
import { BACKUP_FORMAT_VERSION, BACKUP_MAGIC, DataFramer, FrameWriter, type BackupHeader, type BackupTable } from './backup-format';
import { appliedMigrations, listSequences, listTables, type CatalogTable } from './catalog';
import { connectClient } from './orm';
import { copyOut } from './pg-copy';

/** What one backup or restore did, for its summary line. */
export interface BackupSummary {
  tables: number;
  rows: number;
  bytes: number;
  seconds: number;
}

/**
 * The snapshot's settings: no statement timeout (copying a large table legitimately takes longer
 * than a request may), but a bounded wait for locks, so a backup never queues behind a migration
 * (and so never holds the writes queued behind that migration) for long.
 */
async function beginSnapshot(client: pg.Client, config: Config): Promise<void> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  await client.query('SET LOCAL statement_timeout = 0');
  await client.query(`SET LOCAL lock_timeout = ${Math.max(config.db.statementTimeoutMs, 1000)}`);
}

async function describe(client: pg.Client, tables: CatalogTable[]): Promise<BackupHeader> {
  const counted: BackupTable[] = [];
  for (const t of tables) {
    const { rows } = await client.query<{ n: string }>(`select count(*) as n from ${client.escapeIdentifier(t.name)}`);
    counted.push({ ...t, rows: Number(rows[0].n) });
  }
  return {
    format: 'parley-backup',
    version: BACKUP_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    migrations: await appliedMigrations(client),
    tables: counted,
    sequences: await listSequences(client),
  };
}

/** Streams one table as COPY text into data frames, then its end frame (rows and SHA-256). */
async function copyTable(client: pg.Client, writer: FrameWriter, table: BackupTable): Promise<void> {
  await writer.json('T', { name: table.name });
  const framer = new DataFramer((frame) => writer.put('D', frame));
  const columns = table.columns.map((c) => client.escapeIdentifier(c)).join(', ');
  const rows = await copyOut(
    client,
    `COPY ${client.escapeIdentifier(table.name)} (${columns}) TO STDOUT`,
    (chunk) => framer.push(chunk),
    () => writer.drained(),
  );
  framer.flush();
  // Same snapshot as the count: a difference means the snapshot did not hold, and the file would lie.
  if (rows !== table.rows) throw new Error(`table ${table.name} gave ${rows} rows, ${table.rows} counted`);
  await writer.json('E', { name: table.name, rows, sha256: framer.hash.digest('hex') });
}

async function writeSnapshot(client: pg.Client, config: Config, writer: FrameWriter): Promise<BackupHeader> {
  await beginSnapshot(client, config);
  const header = await describe(client, await listTables(client));
  await writer.json('H', header);
  for (const table of header.tables) await copyTable(client, writer, table);
  await client.query('COMMIT');
  const rows = header.tables.reduce((sum, t) => sum + t.rows, 0);
  await writer.json('Z', { tables: header.tables.length, rows });
  return header;
}

async function syncFile(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a consistent snapshot of every table of the public schema at `url` to `file`: one
 * repeatable-read, read-only transaction, COPY of each table streamed through gzip into
 * `file.tmp` (mode 600), synced, then renamed over `file`. Memory stays bounded: rows flow
 * through with the socket paused whenever the file falls behind.
 */
export async function writeBackup(config: Config, url: string, file: string): Promise<BackupSummary> {
  const started = Date.now();
  const target = path.resolve(file);
  const tmp = `${target}.tmp`;
  fs.rmSync(tmp, { force: true });
  const client = await connectClient(config, url);
  // Fastest level: most bytes are ciphertext (and bytea travels as hex), which level 6 shrinks by
  // 0.2% more at 1.2 times the time (measured on 200 MiB of random bytea).
  const gzip = zlib.createGzip({ level: zlib.constants.Z_BEST_SPEED });
  // 'wx': never follow or reuse something already at the temporary path.
  const written = pipeline(gzip, fs.createWriteStream(tmp, { flags: 'wx', mode: 0o600 }));
  try {
    gzip.write(BACKUP_MAGIC);
    const writer = new FrameWriter(gzip);
    // Whichever fails first (the database or the file) ends the backup.
    const header = await Promise.race([writeSnapshot(client, config, writer), written.then(() => Promise.reject(new Error('the output closed early')))]);
    gzip.end();
    await written;
    await syncFile(tmp);
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, target);
    const rows = header.tables.reduce((sum, t) => sum + t.rows, 0);
    return { tables: header.tables.length, rows, bytes: fs.statSync(target).size, seconds: (Date.now() - started) / 1000 };
  } catch (err) {
    gzip.destroy();
    await written.catch(() => undefined);
    fs.rmSync(tmp, { force: true });
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}
