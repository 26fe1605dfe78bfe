import { Entity, OptionalProps, Enum, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Role } from '../graphql/role';

export enum AuditOutcome {
  SUCCESS = 'SUCCESS',
  FAILURE = 'FAILURE',
  DENIED = 'DENIED',
}

/** One link of the tamper-evident audit chain: `hash` (an HMAC under `keyId`'s key) covers the event and `prevHash`. */
@Entity({ tableName: 'audit_event' })
// Every filter of `auditEvents` has an index ending in seq, so a filtered newest-first page is an index range scan.
@Index({ properties: ['actorId', 'seq'] })
@Index({ properties: ['action', 'seq'] })
@Index({ properties: ['resourceType', 'resourceId', 'seq'] })
@Index({ properties: ['ip', 'seq'] })
@Index({ properties: ['outcome', 'seq'] })
export class AuditEvent {
  [OptionalProps]?: 'id';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** 1, 2, 3…: gapless, so a deleted row shows as a hole in the chain. */
  @Property({ type: 'bigint', unique: true })
  seq!: string;

  @Property({ type: 'timestamptz' })
  @Index()
  at!: Date;

  @Property({ type: 'uuid', nullable: true })
  actorId?: string | null;

  @Enum({ items: () => Role, nativeEnumName: 'user_role', nullable: true })
  actorRole?: Role | null;

  @Property({ type: 'text' })
  action!: string;

  @Property({ type: 'text', nullable: true })
  resourceType?: string | null;

  @Property({ type: 'text', nullable: true })
  resourceId?: string | null;

  @Enum({ items: () => AuditOutcome, nativeEnumName: 'audit_outcome' })
  outcome!: AuditOutcome;

  @Property({ type: 'text', nullable: true })
  ip?: string | null;

  @Property({ type: 'text', nullable: true })
  requestId?: string | null;

  @Property({ type: 'jsonb', nullable: true })
  metadata?: Record<string, unknown> | null;

  @Property({ type: 'text' })
  prevHash!: string;

  /** Which chain key hashed this event (HMAC-SHA-256); null for events written before the chain was keyed (plain SHA-256). */
  @Property({ type: 'text', nullable: true })
  keyId?: string | null;

  @Property({ type: 'text' })
  hash!: string;
}
