import { once } from 'node:events';
import type pg from 'pg';

/**
 * COPY TO STDOUT / FROM STDIN over a plain `pg` client, without pg-copy-streams: pg's Client hands
 * every protocol message of the active query to that query object's `handle…` hooks
 * (pg/lib/client.js), and its Connection can send CopyData / CopyDone / CopyFail
 * (pg/lib/connection.js). These few hooks are the whole sub-protocol a simple-query COPY needs.
 */
interface CopyConnection extends pg.Connection {
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}

/** One COPY statement as a pg "submittable"; `done` settles with the row count PostgreSQL reports. */
abstract class CopyQuery implements pg.Submittable {
  protected connection?: CopyConnection;
  readonly done: Promise<number>;
  settled = false;
  private rows = -1;
  private settle!: { resolve(rows: number): void; reject(err: Error): void };

  constructor(private readonly text: string) {
    this.done = new Promise<number>((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined); // observed by the caller; never an unhandled rejection
  }

  submit(connection: pg.Connection): void {
    this.connection = connection as CopyConnection;
    connection.query(this.text);
  }

  handleCommandComplete(msg: { text: string }): void {
    const match = /^COPY (\d+)$/.exec(msg.text);
    this.rows = match ? Number(match[1]) : -1;
  }

  handleReadyForQuery(): void {
    this.settled = true;
    this.settle.resolve(this.rows);
  }

  /** An ErrorResponse (pg then skips ReadyForQuery for us) or a broken connection. */
  handleError(err: Error): void {
    this.settled = true;
    this.connection?.stream.resume();
    this.settle.reject(err);
  }

  // Messages a simple query may bring that a COPY never does.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}
  handleCopyData(_msg: { chunk: Buffer }): void {}
}

class CopyOut extends CopyQuery {
  private paused = false;

  constructor(
    text: string,
    private readonly sink: (chunk: Buffer) => boolean,
    private readonly drained: () => Promise<void>,
  ) {
    super(text);
  }

  /** One row (a view into pg's read buffer: the sink copies what it keeps). A full sink pauses the socket. */
  override handleCopyData(msg: { chunk: Buffer }): void {
    if (this.sink(msg.chunk) || this.paused || !this.connection) return;
    const stream = this.connection.stream;
    this.paused = true;
    stream.pause();
    void this.drained().then(() => {
      this.paused = false;
      stream.resume();
    });
  }
}

class CopyIn extends CopyQuery {
  readonly accepting: Promise<void>;
  private accept!: () => void;

  constructor(text: string) {
    super(text);
    this.accepting = new Promise<void>((resolve) => (this.accept = resolve));
  }

  override handleCopyInResponse(): void {
    this.accept();
  }

  send(chunk: Buffer): boolean {
    this.connection!.sendCopyFromChunk(chunk);
    return !this.connection!.stream.writableNeedDrain;
  }

  async drain(): Promise<void> {
    await Promise.race([once(this.connection!.stream, 'drain'), this.done]);
  }

  end(): void {
    this.connection!.endCopyFrom();
  }

  fail(reason: string): void {
    this.connection!.sendCopyFail(reason);
  }
}

/**
 * Runs `COPY … TO STDOUT` (`sql`), handing each row's bytes to `sink`; when `sink` returns false
 * the socket pauses until `drained` resolves, so memory stays bounded. Resolves with the row count.
 */
export async function copyOut(client: pg.Client, sql: string, sink: (chunk: Buffer) => boolean, drained: () => Promise<void>): Promise<number> {
  return client.query(new CopyOut(sql, sink, drained)).done;
}

/**
 * Runs `COPY … FROM STDIN` (`sql`) fed from `source`, waiting for the socket to drain as it goes.
 * A `source` that throws aborts the COPY (CopyFail) and rethrows. Resolves with the row count.
 */
export async function copyIn(client: pg.Client, sql: string, source: AsyncIterable<Buffer>): Promise<number> {
  const query = client.query(new CopyIn(sql));
  await Promise.race([query.accepting, query.done]);
  try {
    for await (const chunk of source) {
      if (query.settled) break; // PostgreSQL refused the data: `done` holds why
      if (!query.send(chunk)) await query.drain();
    }
  } catch (err) {
    if (!query.settled) query.fail('the backup file was refused');
    await query.done.catch(() => undefined);
    throw err;
  }
  if (!query.settled) query.end();
  return query.done;
}
