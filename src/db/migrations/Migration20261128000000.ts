import { Migration } from '@mikro-orm/migrations';

/** Foundation: installation facts. */
export class Migration20261128000000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "app_meta" ("key" text not null, "value" text not null, "created_at" timestamptz not null, constraint "app_meta_pkey" primary key ("key"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "app_meta" cascade;`);
  }
}
