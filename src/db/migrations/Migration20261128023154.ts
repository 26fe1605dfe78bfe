import { Migration } from '@mikro-orm/migrations';

/** Uploads: attachment files owned by a user, linked to at most one message. */
export class Migration20261128023154 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "attachment" ("id" uuid not null, "owner_id" uuid not null, "message_id" uuid null, "filename" text not null, "mime_type" text not null, "size" int not null, "data" bytea not null, "created_at" timestamptz not null, constraint "attachment_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "attachment_owner_id_index" on "attachment" ("owner_id");`);
    this.addSql(`create index "attachment_message_id_index" on "attachment" ("message_id");`);

    this.addSql(
      `alter table "attachment" add constraint "attachment_owner_id_foreign" foreign key ("owner_id") references "user" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "attachment" add constraint "attachment_message_id_foreign" foreign key ("message_id") references "message" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "attachment" cascade;`);
  }
}
