import { Migration } from '@mikro-orm/migrations';

/** Audit trail: an index ending in seq for every auditEvents filter. */
export class Migration20261128021222 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`drop index "audit_event_action_index";`);
    this.addSql(`drop index "audit_event_actor_id_index";`);

    this.addSql(`create index "audit_event_outcome_seq_index" on "audit_event" ("outcome", "seq");`);
    this.addSql(`create index "audit_event_ip_seq_index" on "audit_event" ("ip", "seq");`);
    this.addSql(`create index "audit_event_resource_type_resource_id_seq_index" on "audit_event" ("resource_type", "resource_id", "seq");`);
    this.addSql(`create index "audit_event_action_seq_index" on "audit_event" ("action", "seq");`);
    this.addSql(`create index "audit_event_actor_id_seq_index" on "audit_event" ("actor_id", "seq");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "audit_event_outcome_seq_index";`);
    this.addSql(`drop index "audit_event_ip_seq_index";`);
    this.addSql(`drop index "audit_event_resource_type_resource_id_seq_index";`);
    this.addSql(`drop index "audit_event_action_seq_index";`);
    this.addSql(`drop index "audit_event_actor_id_seq_index";`);

    this.addSql(`create index "audit_event_action_index" on "audit_event" ("action");`);
    this.addSql(`create index "audit_event_actor_id_index" on "audit_event" ("actor_id");`);
  }
}
