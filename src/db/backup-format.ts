import { createHash, type Hash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';

/**
 * The backup file: gzip over a magic line, then frames of one kind byte, a 4-byte big-endian
 * length and the payload. `H` the header (JSON), then per table `T` (JSON: name), `D` frames
 * (the table's COPY text rows, split anywhere) and `E` (JSON: rows, SHA-256 of its data), and a
 * final `Z` (JSON: totals). Length-prefixed frames let a reader cut the stream with bounded
 * memory and tell a truncated file (no `Z`, gzip's own end check) from a complete one.
 */
export const BACKUP_MAGIC = Buffer.from('PARLEY-BACKUP\n');
export const BACKUP_FORMAT_VERSION = 1;
/** A data frame's payload at most: the unit a reader holds in memory. */
export const MAX_DATA_FRAME = 256 * 1024;
/** JSON frames (the header lists every table and migration) at most. */
const MAX_JSON_FRAME = 16 * 1024 * 1024;

export interface BackupTable {
  name: string;
  columns: string[];
  rows: number;
}

export interface BackupSequence {
  name: string;
  value: string;
  isCalled: boolean;
}

export interface BackupHeader {
  format: 'parley-backup';
  version: number;
  createdAt: string;
  /** The schema version: names of the applied migrations, in order. */
  migrations: string[];
  /** Every table of the public schema, in an order that satisfies its foreign keys. */
  tables: BackupTable[];
  sequences: BackupSequence[];
}

export type FrameKind = 'H' | 'T' | 'D' | 'E' | 'Z';

/** A backup file that cannot be used: truncated, corrupt, not a backup, or of an unknown schema. */
export class BackupError extends Error {
  override name = 'BackupError';
}

/** Writes frames to `out` (the gzip stream); `write` resolves once `out` can take more. */
export class FrameWriter {
  bytes = 0;

  constructor(private readonly out: Writable) {}

  /** Queues one frame; false when the output is full (wait for `drained`). */
  put(kind: FrameKind, payload: Buffer): boolean {
    const head = Buffer.alloc(5);
    head.write(kind, 0, 'latin1');
    head.writeUInt32BE(payload.length, 1);
    this.bytes += 5 + payload.length;
    this.out.write(head);
    return this.out.write(payload);
  }

  async write(kind: FrameKind, payload: Buffer): Promise<void> {
    if (!this.put(kind, payload)) await this.drained();
  }

  json(kind: FrameKind, value: unknown): Promise<void> {
    return this.write(kind, Buffer.from(JSON.stringify(value)));
  }

  /** Resolves when the output has room again (or failed: the pipeline reports the error). */
  drained(): Promise<void> {
    if (!this.out.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.out.off('drain', done);
        this.out.off('close', done);
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('close', done);
    });
  }
}

/** Collects COPY rows into data frames of at most MAX_DATA_FRAME bytes, hashing and counting as it goes. */
export class DataFramer {
  readonly hash: Hash = createHash('sha256');
  private buffer = Buffer.alloc(MAX_DATA_FRAME);
  private used = 0;

  constructor(private readonly emit: (frame: Buffer) => boolean) {}

  /** Copies `chunk` (which may be a view into a reused buffer); false when the output is full. */
  push(chunk: Buffer): boolean {
    this.hash.update(chunk);
    let ok = true;
    for (let at = 0; at < chunk.length;) {
      const n = chunk.copy(this.buffer, this.used, at);
      this.used += n;
      at += n;
      if (this.used === MAX_DATA_FRAME) ok = this.flush() && ok;
    }
    return ok;
  }

  flush(): boolean {
    if (this.used === 0) return true;
    const frame = this.buffer.subarray(0, this.used);
    this.buffer = Buffer.alloc(MAX_DATA_FRAME); // the emitted frame is still queued downstream
    this.used = 0;
    return this.emit(frame);
  }
}

export interface Frame {
  kind: FrameKind;
  payload: Buffer;
}

/** Reads exactly `n` bytes from a chunk iterator, keeping the rest for the next call. */
class ByteReader {
  private parts: Buffer[] = [];
  private have = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** The next `n` bytes, or null at a clean end of input (before any of them). */
  async take(n: number): Promise<Buffer | null> {
    while (this.have < n) {
      const next = await this.source.next();
      if (next.done) {
        if (this.have === 0) return null;
        throw new BackupError('the backup file is truncated');
      }
      this.parts.push(next.value);
      this.have += next.value.length;
    }
    const all = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.have);
    this.parts = all.length > n ? [all.subarray(n)] : [];
    this.have -= n;
    return all.subarray(0, n);
  }
}

/** Frames of a decompressed backup stream, checking the magic line and every frame's size. */
export async function* readFrames(input: Readable): AsyncGenerator<Frame, void> {
  const reader = new ByteReader(input[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  const magic = await reader.take(BACKUP_MAGIC.length);
  if (!magic || !magic.equals(BACKUP_MAGIC)) throw new BackupError('not a Parley backup file');
  for (;;) {
    const head = await reader.take(5);
    if (!head) return;
    const kind = head.toString('latin1', 0, 1);
    const length = head.readUInt32BE(1);
    if (!'HTDEZ'.includes(kind)) throw new BackupError('the backup file is corrupt (unknown frame)');
    if (length > (kind === 'D' ? MAX_DATA_FRAME : MAX_JSON_FRAME)) throw new BackupError('the backup file is corrupt (oversized frame)');
    const payload = length === 0 ? Buffer.alloc(0) : await reader.take(length);
    if (!payload) throw new BackupError('the backup file is truncated');
    yield { kind: kind as FrameKind, payload };
  }
}

/** Parses a JSON frame payload, naming the frame when it is not JSON. */
export function parseJsonFrame<T>(frame: Frame, what: string): T {
  try {
    return JSON.parse(frame.payload.toString('utf8')) as T;
  } catch {
    throw new BackupError(`the backup file is corrupt (unreadable ${what})`);
  }
}
