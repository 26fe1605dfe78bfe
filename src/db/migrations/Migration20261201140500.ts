import { Migration } from '@mikro-orm/migrations';

/** API keys: a user's long-lived integration credentials, stored as a SHA-256 hash with a display prefix. */
export class Migration20261201140500 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "api_key" ("id" uuid not null, "user_id" uuid not null, "name" text not null, "prefix" text not null, "hash" text not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, "expires_at" timestamptz null, constraint "api_key_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "api_key_user_id_index" on "api_key" ("user_id");`);
    this.addSql(`alter table "api_key" add constraint "api_key_hash_unique" unique ("hash");`);
    this.addSql(
      `alter table "api_key" add constraint "api_key_user_id_foreign" foreign key ("user_id") references "user" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "api_key" cascade;`);
  }
}
