import { Migration } from '@mikro-orm/migrations';

/** Encryption at rest (issue 13): per-user data keys, stored wrapped under DATA_ENCRYPTION_KEYS. */
export class Migration20261201220000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "user_key" ("id" uuid not null, "user_id" uuid not null, "kek_id" text not null, "wrapped" bytea not null, "created_at" timestamptz not null, "retired_at" timestamptz null, constraint "user_key_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "user_key_user_id_index" on "user_key" ("user_id");`);
    this.addSql(`create unique index "user_key_current" on "user_key" ("user_id") where "retired_at" is null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "user_key" cascade;`);
  }
}
