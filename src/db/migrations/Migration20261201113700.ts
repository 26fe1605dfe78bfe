import { Migration } from '@mikro-orm/migrations';

/**
 * Uploads stream to storage: bytes move from one column into chunk rows written as they arrive,
 * with a `complete` flag for files whose bytes are all stored. The daily token ledger
 * (reserved and used per user per UTC day) replaces summing surviving message rows.
 */
export class Migration20261201113700 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "attachment_chunk" ("attachment_id" uuid not null, "seq" int not null, "data" bytea not null, constraint "attachment_chunk_pkey" primary key ("attachment_id", "seq"));`,
    );
    this.addSql(
      `alter table "attachment_chunk" add constraint "attachment_chunk_attachment_id_foreign" foreign key ("attachment_id") references "attachment" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(`alter table "attachment" add column "complete" boolean not null default false;`);
    this.addSql(`insert into "attachment_chunk" ("attachment_id", "seq", "data") select "id", 0, "data" from "attachment";`);
    this.addSql(`update "attachment" set "complete" = true;`);
    this.addSql(`alter table "attachment" drop column "data";`);

    this.addSql(
      `create table "token_usage" ("user_id" uuid not null, "day" date not null, "reserved" int not null default 0, "used" int not null default 0, constraint "token_usage_pkey" primary key ("user_id", "day"));`,
    );
    this.addSql(
      `alter table "token_usage" add constraint "token_usage_user_id_foreign" foreign key ("user_id") references "user" ("id") on update cascade on delete cascade;`,
    );
    // Today's usage so far, from the rows that still exist, so the upgrade does not hand out a fresh quota.
    this.addSql(`insert into "token_usage" ("user_id", "day", "used")
      select c."owner_id", (now() at time zone 'utc')::date, sum(coalesce(m."prompt_tokens", 0) + coalesce(m."completion_tokens", 0))
      from "message" m join "conversation" c on c."id" = m."conversation_id"
      where m."role" = 'ASSISTANT' and m."created_at" >= date_trunc('day', now() at time zone 'utc') at time zone 'utc'
      group by c."owner_id";`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "token_usage" cascade;`);
    this.addSql(`alter table "attachment" add column "data" bytea null;`);
    this.addSql(
      `update "attachment" a set "data" = (select string_agg(c."data", ''::bytea order by c."seq") from "attachment_chunk" c where c."attachment_id" = a."id");`,
    );
    this.addSql(`delete from "attachment" where "data" is null;`);
    this.addSql(`alter table "attachment" alter column "data" set not null, drop column "complete";`);
    this.addSql(`drop table if exists "attachment_chunk" cascade;`);
  }
}
