import { Migration } from '@mikro-orm/migrations';

/** Accounts and sessions: users, sessions, refresh tokens, login throttling, captcha replay guard, audit chain. */
export class Migration20261128011100 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create type "user_role" as enum ('USER', 'AUDITOR', 'ADMIN');`);
    this.addSql(`create type "audit_outcome" as enum ('SUCCESS', 'FAILURE', 'DENIED');`);
    this.addSql(
      `create table "audit_event" ("id" uuid not null, "seq" bigint not null, "at" timestamptz not null, "actor_id" uuid null, "actor_role" "user_role" null, "action" text not null, "resource_type" text null, "resource_id" text null, "outcome" "audit_outcome" not null, "ip" text null, "request_id" text null, "metadata" jsonb null, "prev_hash" text not null, "hash" text not null, constraint "audit_event_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "audit_event" add constraint "audit_event_seq_unique" unique ("seq");`);
    this.addSql(`create index "audit_event_at_index" on "audit_event" ("at");`);
    this.addSql(`create index "audit_event_actor_id_index" on "audit_event" ("actor_id");`);
    this.addSql(`create index "audit_event_action_index" on "audit_event" ("action");`);

    this.addSql(
      `create table "captcha_use" ("signature" text not null, "expires_at" timestamptz not null, constraint "captcha_use_pkey" primary key ("signature"));`,
    );
    this.addSql(`create index "captcha_use_expires_at_index" on "captcha_use" ("expires_at");`);

    this.addSql(
      `create table "login_throttle" ("account_key" text not null, "failures" int not null default 0, "window_started_at" timestamptz not null, "locked_until" timestamptz null, "lock_count" int not null default 0, constraint "login_throttle_pkey" primary key ("account_key"));`,
    );

    this.addSql(
      `create table "user" ("id" uuid not null, "email" text not null, "password_hash" text not null, "display_name" text null, "role" "user_role" not null default 'USER', "created_at" timestamptz not null, "updated_at" timestamptz not null, "locked_until" timestamptz null, "lock_reason" text null, constraint "user_pkey" primary key ("id"));`,
    );
    this.addSql(`create unique index "user_email_unique" on "user" (lower("email"));`);

    this.addSql(
      `create table "session" ("id" uuid not null, "user_id" uuid not null, "created_at" timestamptz not null, "last_used_at" timestamptz not null, "ip" text null, "user_agent" text null, "idle_expires_at" timestamptz not null, "absolute_expires_at" timestamptz not null, "revoked_at" timestamptz null, "revoked_reason" text null, constraint "session_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "session_user_id_index" on "session" ("user_id");`);

    this.addSql(
      `create table "refresh_token" ("hash" text not null, "session_id" uuid not null, "created_at" timestamptz not null, "used_at" timestamptz null, constraint "refresh_token_pkey" primary key ("hash"));`,
    );
    this.addSql(`create index "refresh_token_session_id_index" on "refresh_token" ("session_id");`);

    this.addSql(
      `alter table "session" add constraint "session_user_id_foreign" foreign key ("user_id") references "user" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "refresh_token" add constraint "refresh_token_session_id_foreign" foreign key ("session_id") references "session" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "session" drop constraint "session_user_id_foreign";`);

    this.addSql(`alter table "refresh_token" drop constraint "refresh_token_session_id_foreign";`);

    this.addSql(`drop table if exists "audit_event" cascade;`);

    this.addSql(`drop table if exists "captcha_use" cascade;`);

    this.addSql(`drop table if exists "login_throttle" cascade;`);

    this.addSql(`drop table if exists "user" cascade;`);

    this.addSql(`drop table if exists "session" cascade;`);

    this.addSql(`drop table if exists "refresh_token" cascade;`);

    this.addSql(`drop type "user_role";`);
    this.addSql(`drop type "audit_outcome";`);
  }
}
