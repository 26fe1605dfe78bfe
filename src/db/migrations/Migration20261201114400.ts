import { Migration } from '@mikro-orm/migrations';

/**
 * Lockout per (account, client IP): failures from one IP lock that IP only. Existing rows become
 * the accounts' all-IP counts (`*`), which raise captcha difficulty but lock no one.
 */
export class Migration20261201114400 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "login_throttle" add column "client_key" text not null default '*', add column "last_locked_at" timestamptz null;`);
    this.addSql(`update "login_throttle" set "locked_until" = null;`);
    this.addSql(`alter table "login_throttle" alter column "client_key" drop default;`);
    this.addSql(`alter table "login_throttle" drop constraint "login_throttle_pkey";`);
    this.addSql(`alter table "login_throttle" add constraint "login_throttle_pkey" primary key ("account_key", "client_key");`);
  }

  override async down(): Promise<void> {
    this.addSql(`delete from "login_throttle" where "client_key" <> '*';`);
    this.addSql(`alter table "login_throttle" drop constraint "login_throttle_pkey";`);
    this.addSql(`alter table "login_throttle" add constraint "login_throttle_pkey" primary key ("account_key");`);
    this.addSql(`alter table "login_throttle" drop column "client_key", drop column "last_locked_at";`);
  }
}
