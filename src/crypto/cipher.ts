import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { BoundedCache } from '../bounded-cache';
import type { DataKeys } from './data-keys';
import { fromText, IntegrityError, open, seal, sealedKeyId, toText } from './envelope';

/** The columns stored encrypted, each value bound to its table, column and row. */
export type SealedColumn =
  'message.content' | 'conversation.title' | 'conversation.system_prompt' | 'attachment.filename' | 'attachment.extracted_text' | 'attachment_chunk.data';

/** The associated data binding a sealed value to its column and row. */
export const binding = (column: SealedColumn, rowId: string): string => `parley/v1|${column}|${rowId}`;

/**
 * The codec every path to encrypted columns goes through (the ORM subscriber and the raw-SQL
 * stores alike): seals under the owner's current data key, opens under the key a value names.
 * Until the one-time migration of plain rows has finished (`acceptPlain`), a value that is not
 * sealed is returned as it is; afterwards it is an IntegrityError, like a tampered one.
 */
export class ContentCipher {
  acceptPlain = true;
  /** Conversation and attachment owners (an owner never changes), bounded. */
  private readonly owners = new BoundedCache<string, string>(10_000, 10 * 60_000);

  constructor(readonly keys: DataKeys) {}

  /** Whose data key seals a message's or chunk's values: the owner of its conversation or attachment, read with `exec` (the caller's transaction). */
  async ownerOf(table: 'conversation' | 'attachment', id: string, exec: OwnerQuery): Promise<string> {
    const hit = this.owners.get(id);
    if (hit) return hit;
    const [row] = await exec(`select owner_id from ${table} where id = ?`, [id]);
    if (!row) throw new Error(`no ${table} owns the row being written`);
    this.owners.set(id, row.owner_id);
    return row.owner_id;
  }

  async sealText(ownerId: string, column: SealedColumn, rowId: string, plain: string): Promise<string> {
    const key = await this.keys.currentFor(ownerId);
    return toText(seal(key.key, key.id, Buffer.from(plain, 'utf8'), binding(column, rowId)));
  }

  async sealBytes(ownerId: string, column: SealedColumn, rowId: string, plain: Buffer): Promise<Buffer> {
    const key = await this.keys.currentFor(ownerId);
    return seal(key.key, key.id, plain, binding(column, rowId));
  }

  async openText(column: SealedColumn, rowId: string, stored: string): Promise<string>;
  async openText(column: SealedColumn, rowId: string, stored: string | null): Promise<string | null>;
  async openText(column: SealedColumn, rowId: string, stored: string | null): Promise<string | null> {
    if (stored === null || stored === '') return stored;
    const sealed = fromText(stored);
    if (!sealed || !(await this.isKnown(sealed))) return this.plain(stored);
    const key = await this.keys.byKeyId(sealedKeyId(sealed) as string);
    return open(key.key, sealed, binding(column, rowId)).toString('utf8');
  }

  async openBytes(column: SealedColumn, rowId: string, stored: Buffer): Promise<Buffer> {
    if (!(await this.isKnown(stored))) return this.plain(stored);
    const key = await this.keys.byKeyId(sealedKeyId(stored) as string);
    return open(key.key, stored, binding(column, rowId));
  }

  /** True when `stored` is a sealed value (shaped like one and, while plain rows may remain, naming a data key that exists). */
  async isSealedText(stored: string): Promise<boolean> {
    const sealed = fromText(stored);
    return sealed !== undefined && (await this.isKnown(sealed));
  }

  /**
   * Shaped like a sealed value; while plain rows may remain, it must also name an existing data
   * key (a plain file or text that happens to start like an envelope is then read as plain).
   * Afterwards the shape alone decides, so a destroyed key reads as an error, not as plain text.
   */
  private async isKnown(value: Buffer): Promise<boolean> {
    const id = sealedKeyId(value);
    if (id === undefined) return false;
    return !this.acceptPlain || (await this.keys.exists(id));
  }

  private plain<T>(value: T): T {
    if (this.acceptPlain) return value;
    throw new IntegrityError('a stored value is not sealed');
  }
}

/** Reads the owner column of one row. */
export type OwnerQuery = (sql: string, params: unknown[]) => Promise<{ owner_id: string }[]>;

const ciphers = new WeakMap<object, ContentCipher>();

/** Makes `cipher` the one every path of `orm` uses (the ORM subscriber and `cipherOf`). */
export function registerCipher(orm: MikroORM, cipher: ContentCipher): void {
  ciphers.set(orm.config, cipher);
}

/** The cipher of the database `em` belongs to (raw-SQL stores seal and open through it). */
export function cipherOf(em: Pick<EntityManager, 'config'>): ContentCipher {
  const cipher = ciphers.get(em.config);
  if (!cipher) throw new Error('no content cipher is registered for this database');
  return cipher;
}

/** Deletes every data key of `userId` inside `tx`'s transaction and drops them from this process's cache; returns how many. */
export async function destroyDataKeys(tx: Pick<EntityManager, 'config' | 'getConnection' | 'getTransactionContext'>, userId: string): Promise<number> {
  const rows = await tx
    .getConnection()
    .execute<{ id: string }[]>('delete from user_key where user_id = ? returning id', [userId], 'all', tx.getTransactionContext());
  cipherOf(tx).keys.forget(
    userId,
    rows.map((r: { id: string }) => r.id),
  );
  return rows.length;
}
