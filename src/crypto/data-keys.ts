import { randomBytes, randomUUID } from 'node:crypto';
import type { EncryptionKey } from '../config';
import { BoundedCache } from '../bounded-cache';
import { IntegrityError, unwrapKey, wrapKey } from './envelope';

/** Runs one SQL statement (`?` placeholders) on its own connection, outside any caller's transaction. */
export type Sql = <T>(text: string, params: unknown[]) => Promise<T[]>;

/** An unwrapped data key and its id. */
export interface DataKey {
  id: string;
  key: Buffer;
}

/** At most this many unwrapped data keys (and as many current-key entries) per process. */
const CACHE_ENTRIES = 10_000;

/** The binding of a wrapped data key: its id and owner, so a wrapped key moved to another row does not unwrap. */
export const wrapBinding = (keyId: string, userId: string): string => `${keyId}|${userId}`;

/**
 * Per-user data keys (table user_key), stored only wrapped under a key-encryption key of
 * DATA_ENCRYPTION_KEYS (its id beside it). A user's current key is made on first need; keys are
 * unwrapped on use and kept in memory for DATA_KEY_CACHE_TTL (bounded), so streaming does not
 * read the key table per chunk. Deleting a user's rows of user_key crypto-shreds their content.
 */
export class DataKeys {
  private readonly kek: Map<string, Buffer>;
  private readonly byId: BoundedCache<string, DataKey>;
  private readonly current: BoundedCache<string, DataKey>;

  constructor(
    private readonly sql: Sql,
    readonly keks: EncryptionKey[],
    cacheSeconds: number,
  ) {
    if (keks.length === 0) throw new Error('DATA_ENCRYPTION_KEYS is not set');
    this.kek = new Map(keks.map((k) => [k.id, k.key]));
    this.byId = new BoundedCache(CACHE_ENTRIES, cacheSeconds * 1000);
    this.current = new BoundedCache(CACHE_ENTRIES, cacheSeconds * 1000);
  }

  /** The user's current data key, made (and committed on its own) when they have none. */
  async currentFor(userId: string): Promise<DataKey> {
    const cached = this.current.get(userId);
    if (cached) return cached;
    let row = await this.readCurrent(userId);
    if (!row) {
      await this.create(userId);
      row = await this.readCurrent(userId);
    }
    if (!row) throw new Error('no data key could be made for the user (deleted meanwhile?)');
    const key = { id: row.id, key: this.unwrap(row) };
    this.current.set(userId, key);
    this.byId.set(key.id, key);
    return key;
  }

  /** The data key with this id; IntegrityError when it no longer exists (crypto-shredded or retired and destroyed). */
  async byKeyId(id: string): Promise<DataKey> {
    const cached = this.byId.get(id);
    if (cached) return cached;
    const [row] = await this.sql<WrappedRow>('select id, user_id, kek_id, wrapped from user_key where id = ?', [id]);
    if (!row) throw new IntegrityError('the data key of a stored value no longer exists');
    const key = { id, key: this.unwrap(row) };
    this.byId.set(id, key);
    return key;
  }

  /** True when a data key with this id exists (the plain-row migration's test for "already sealed"). */
  async exists(id: string): Promise<boolean> {
    if (this.byId.get(id)) return true;
    return (await this.sql('select 1 from user_key where id = ?', [id])).length > 0;
  }

  /** Wraps a fresh data key for `userId` under the current key-encryption key (the row to insert). */
  wrapNew(userId: string): { id: string; kekId: string; wrapped: Buffer } {
    const id = randomUUID();
    const kek = this.keks[0];
    return { id, kekId: kek.id, wrapped: wrapKey(kek.key, randomBytes(32), wrapBinding(id, userId)) };
  }

  /** Unwraps a stored row; an unknown key-encryption key id is named (it is not secret) so the operator knows which key is missing. */
  unwrap(row: WrappedRow): Buffer {
    const kek = this.kek.get(row.kek_id);
    if (!kek) throw new Error(`a data key is wrapped under key-encryption key "${row.kek_id}", which DATA_ENCRYPTION_KEYS does not hold`);
    return unwrapKey(kek, row.wrapped, wrapBinding(row.id, row.user_id));
  }

  /** Drops a user's keys from this process's memory (their rows were deleted). */
  forget(userId: string, keyIds: string[]): void {
    this.current.delete(userId);
    for (const id of keyIds) this.byId.delete(id);
  }

  private async readCurrent(userId: string): Promise<WrappedRow | undefined> {
    const rows = await this.sql<WrappedRow>('select id, user_id, kek_id, wrapped from user_key where user_id = ? and retired_at is null', [userId]);
    return rows[0];
  }

  private async create(userId: string): Promise<void> {
    const fresh = this.wrapNew(userId);
    // Two processes may race to make the first key: the partial unique index keeps one, the other reads it back.
    await this.sql(
      `insert into user_key (id, user_id, kek_id, wrapped, created_at) select ?, ?, ?, ?, now() where exists (select 1 from "user" where id = ?)
       on conflict do nothing`,
      [fresh.id, userId, fresh.kekId, fresh.wrapped, userId],
    );
  }
}

/** A row of user_key as read. */
export interface WrappedRow {
  id: string;
  user_id: string;
  kek_id: string;
  wrapped: Buffer;
}
