import { Entity, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Failed-login bookkeeping per account key (the SHA-256 of the normalised email, kept whether or
 * not the account exists, so lockout behaves the same for both and stores no email) and client
 * key (the SHA-256 of the client IP; `*` for the account's count across every IP).
 */
@Entity({ tableName: 'login_throttle' })
export class LoginThrottle {
  [OptionalProps]?: 'failures' | 'windowStartedAt' | 'lockCount';

  @PrimaryKey({ type: 'text' })
  accountKey!: string;

  @PrimaryKey({ type: 'text' })
  clientKey!: string;

  @Property({ type: 'integer' })
  failures: number = 0;

  @Property({ type: 'timestamptz' })
  windowStartedAt: Date = new Date();

  @Property({ type: 'timestamptz', nullable: true })
  lockedUntil?: Date | null;

  /** How many locks so far: each lock lasts twice the one before; one is forgotten per day since the last. */
  @Property({ type: 'integer' })
  lockCount: number = 0;

  @Property({ type: 'timestamptz', nullable: true })
  lastLockedAt?: Date | null;
}
