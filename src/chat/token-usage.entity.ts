import { Entity, ManyToOne, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';
import { User } from '../auth/user.entity';

/**
 * The daily token ledger: per user and UTC day, tokens reserved by replies under way and tokens
 * used by finished ones. Only replies change it (reserve at start, settle at end): deleting a
 * conversation or message never lowers it, so the quota cannot be reset by deleting history.
 */
@Entity({ tableName: 'token_usage' })
export class TokenUsage {
  [PrimaryKeyProp]?: ['user', 'day'];

  @ManyToOne({ entity: () => User, primary: true, deleteRule: 'cascade' })
  user!: User;

  @PrimaryKey({ type: 'date' })
  day!: string;

  @Property({ type: 'integer', default: 0 })
  reserved: number = 0;

  @Property({ type: 'integer', default: 0 })
  used: number = 0;

  /** The prompt share of `used` (myUsage reports the split). */
  @Property({ type: 'integer', default: 0 })
  promptTokens: number = 0;

  /** The completion share of `used`. */
  @Property({ type: 'integer', default: 0 })
  completionTokens: number = 0;
}
