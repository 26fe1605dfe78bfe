import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Key/value facts about this installation, written once at first boot (for instance the
 * installation id that logs and metrics carry), so a restart can tell it is the same deployment.
 */
@Entity({ tableName: 'app_meta' })
export class AppMeta {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'text' })
  key!: string;

  @Property({ type: 'text' })
  value!: string;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();
}
