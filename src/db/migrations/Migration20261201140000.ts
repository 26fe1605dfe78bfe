import { Migration } from '@mikro-orm/migrations';

/**
 * Safe retries of sendMessage: a user message records its sender and the client's own id for it,
 * unique per sender, so two retries racing on two instances cannot both insert.
 */
export class Migration20261201140000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "message" add column "sender_id" uuid null, add column "client_message_id" text null;`);
    this.addSql(
      `alter table "message" add constraint "message_sender_id_foreign" foreign key ("sender_id") references "user" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(`alter table "message" add constraint "message_sender_client_message_id_unique" unique ("sender_id", "client_message_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "message" drop constraint "message_sender_client_message_id_unique";`);
    this.addSql(`alter table "message" drop constraint "message_sender_id_foreign";`);
    this.addSql(`alter table "message" drop column "sender_id", drop column "client_message_id";`);
  }
}
