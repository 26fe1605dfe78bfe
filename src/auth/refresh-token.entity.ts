import { Entity, OptionalProps, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { Session } from './session.entity';

/** A refresh token, kept only as its SHA-256; `usedAt` marks it rotated (any later use is reuse). */
@Entity({ tableName: 'refresh_token' })
export class RefreshToken {
  [OptionalProps]?: 'createdAt';

  @PrimaryKey({ type: 'text' })
  hash!: string;

  @ManyToOne({ entity: () => Session, deleteRule: 'cascade' })
  @Index()
  session!: Session;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'timestamptz', nullable: true })
  usedAt?: Date | null;
}
