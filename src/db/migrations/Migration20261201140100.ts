import { Migration } from '@mikro-orm/migrations';

/** Issue 11: archived conversations, and an index for listing a user's conversations most recently updated first. */
export class Migration20261201140100 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "conversation" add column "archived" boolean not null default false;`);
    this.addSql(`create index "conversation_owner_id_updated_at_id_index" on "conversation" ("owner_id", "updated_at", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "conversation_owner_id_updated_at_id_index";`);
    this.addSql(`alter table "conversation" drop column "archived";`);
  }
}
