import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { BACKUP_FORMAT_VERSION, BackupError, parseJsonFrame, readFrames, type BackupHeader, type BackupTable, type Frame } from './backup-format';

/** Receives one table's COPY text as it is read; must consume `data` to its end. */
export type TableHandler = (table: BackupTable, data: AsyncIterable<Buffer>) => Promise<void>;

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

function validTable(t: unknown): t is BackupTable {
  const table = t as Partial<BackupTable> | null;
  return typeof table?.name === 'string' && isStringArray(table.columns) && Number.isSafeInteger(table.rows) && (table.rows ?? -1) >= 0;
}

/** The header frame, checked for the fields a restore relies on. */
function readHeader(frame: Frame | undefined): BackupHeader {
  if (frame?.kind !== 'H') throw new BackupError('the backup file is corrupt (no header)');
  const h = parseJsonFrame<Partial<BackupHeader>>(frame, 'header');
  if (h.format !== 'parley-backup') throw new BackupError('not a Parley backup file');
  if (typeof h.version !== 'number' || h.version > BACKUP_FORMAT_VERSION)
    throw new BackupError(`the backup file's format ${String(h.version)} is newer than this version of Parley reads (${BACKUP_FORMAT_VERSION})`);
  if (!isStringArray(h.migrations) || !Array.isArray(h.tables) || !h.tables.every(validTable) || !Array.isArray(h.sequences))
    throw new BackupError('the backup file is corrupt (malformed header)');
  return h as BackupHeader;
}

function countRows(data: Buffer): number {
  // COPY text ends every row with a newline and escapes newlines inside values.
  let n = 0;
  for (let at = data.indexOf(10); at >= 0; at = data.indexOf(10, at + 1)) n += 1;
  return n;
}

/** Zlib's and the file system's errors, as one line about the file. */
function fileError(err: unknown, file: string): Error {
  if (err instanceof BackupError) return err;
  const e = err as NodeJS.ErrnoException;
  if (typeof e.code === 'string' && e.code.startsWith('Z_')) return new BackupError(`the backup file is truncated or corrupt (${e.message})`);
  if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') return new BackupError(`cannot read ${file} (${e.code})`);
  return err instanceof Error ? err : new Error(String(err));
}

/** Reads one table's frames up to its end frame, checking the row count and SHA-256 against it and the header. */
async function scanTable(frames: AsyncIterator<Frame>, table: BackupTable, handler: TableHandler): Promise<void> {
  const start = await frames.next();
  if (start.done || start.value.kind !== 'T' || parseJsonFrame<{ name?: string }>(start.value, 'table start').name !== table.name)
    throw new BackupError(`the backup file is corrupt (table ${table.name} is not where the header puts it)`);
  const hash = createHash('sha256');
  let rows = 0;
  let end: { rows?: number; sha256?: string } | undefined;
  async function* data(): AsyncGenerator<Buffer> {
    for (;;) {
      const next = await frames.next();
      if (next.done) throw new BackupError('the backup file is truncated');
      if (next.value.kind === 'E') {
        end = parseJsonFrame(next.value, 'table end');
        return;
      }
      if (next.value.kind !== 'D') throw new BackupError(`the backup file is corrupt (inside table ${table.name})`);
      hash.update(next.value.payload);
      rows += countRows(next.value.payload);
      yield next.value.payload;
    }
  }
  await handler(table, data());
  if (!end) throw new BackupError(`table ${table.name} was not read to its end`);
  if (end.sha256 !== hash.digest('hex') || end.rows !== rows || rows !== table.rows)
    throw new BackupError(`the backup file is corrupt (table ${table.name} does not match its checksum or row count)`);
}

/**
 * Reads a backup file start to end, checking the magic line, header, each table's frames,
 * checksums and row counts, the final frame and gzip's own checksum, and hands each table's
 * data to `handler` as it goes. Throws BackupError for a file that fails any check.
 */
export async function scanBackup(file: string, handler: TableHandler): Promise<BackupHeader> {
  const gunzip = zlib.createGunzip();
  const read = pipeline(fs.createReadStream(file), gunzip);
  read.catch(() => undefined); // its error also reaches the frame reader, which reports it
  const frames = readFrames(gunzip);
  try {
    const header = readHeader((await frames.next()).value || undefined);
    for (const table of header.tables) await scanTable(frames, table, handler);
    const last = await frames.next();
    if (last.done || last.value.kind !== 'Z') throw new BackupError('the backup file is truncated');
    if (!(await frames.next()).done) throw new BackupError('the backup file is corrupt (data after its end)');
    await read;
    return header;
  } catch (err) {
    gunzip.destroy();
    throw fileError(err, file);
  } finally {
    await frames.return(undefined);
  }
}

/** Reads the whole file once, touching no database; returns its header. */
export function verifyBackup(file: string): Promise<BackupHeader> {
  return scanBackup(file, async (_table, data) => {
    for await (const _chunk of data);
  });
}
