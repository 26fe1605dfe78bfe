import { Migration } from '@mikro-orm/migrations';

/** Keyed audit chain: which HMAC key hashed each event; null marks events from before (plain SHA-256). */
export class Migration20261201120600 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "audit_event" add column "key_id" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "audit_event" drop column "key_id";`);
  }
}
