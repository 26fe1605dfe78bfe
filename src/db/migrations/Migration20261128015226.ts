import { Migration } from '@mikro-orm/migrations';

/** Chat: conversations and messages (with generation heartbeat). */
export class Migration20261128015226 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "message_role" as enum ('SYSTEM', 'USER', 'ASSISTANT');`);
    this.addSql(`create type "message_status" as enum ('STREAMING', 'COMPLETE', 'CANCELLED', 'FAILED', 'INTERRUPTED');`);
    this.addSql(
      `create table "conversation" ("id" uuid not null, "owner_id" uuid not null, "title" text null, "model" text not null, "system_prompt" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "conversation_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "conversation_owner_id_created_at_id_index" on "conversation" ("owner_id", "created_at", "id");`);

    this.addSql(
      `create table "message" ("id" uuid not null, "conversation_id" uuid not null, "role" "message_role" not null, "content" text not null default '', "status" "message_status" not null default 'COMPLETE', "model" text null, "prompt_tokens" int null, "completion_tokens" int null, "error" text null, "created_at" timestamptz not null, "instance_id" text null, "heartbeat_at" timestamptz null, constraint "message_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "message_status_heartbeat_at_index" on "message" ("status", "heartbeat_at");`);
    this.addSql(`create index "message_conversation_id_created_at_id_index" on "message" ("conversation_id", "created_at", "id");`);

    this.addSql(
      `alter table "conversation" add constraint "conversation_owner_id_foreign" foreign key ("owner_id") references "user" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "message" add constraint "message_conversation_id_foreign" foreign key ("conversation_id") references "conversation" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "message" drop constraint "message_conversation_id_foreign";`);

    this.addSql(`drop table if exists "conversation" cascade;`);

    this.addSql(`drop table if exists "message" cascade;`);

    this.addSql(`drop type "message_role";`);
    this.addSql(`drop type "message_status";`);
  }
}
