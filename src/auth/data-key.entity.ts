import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A user's data key, stored only wrapped (AES-256-GCM) under a key-encryption key of
 * DATA_ENCRYPTION_KEYS, whose id is kept beside it. One current key per user (retired_at null);
 * a retired one keeps opening what it sealed until `rotate-keys --reencrypt` destroys it.
 * deleteMyAccount deletes their keys (crypto-shredding any copy of their rows). Read and
 * written by src/crypto/data-keys.ts in SQL; the entity only keeps the schema in step.
 */
@Entity({ tableName: 'user_key' })
@Index({ name: 'user_key_current', expression: 'create unique index "user_key_current" on "user_key" ("user_id") where "retired_at" is null' })
export class DataKeyRow {
  [OptionalProps]?: 'createdAt' | 'retiredAt';

  @PrimaryKey({ type: 'uuid' })
  id!: string;

  /**
   * The owner. Deliberately no foreign key: a key is made on its own connection while the
   * caller's transaction may hold the user's row locked (sendMessage's per-user lock), and a
   * foreign-key check would wait on that lock. deleteMyAccount deletes the keys explicitly.
   */
  @Property({ type: 'uuid' })
  @Index()
  userId!: string;

  @Property({ type: 'text' })
  kekId!: string;

  @Property({ type: 'blob' })
  wrapped!: Buffer;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'timestamptz', nullable: true })
  retiredAt?: Date | null;
}
