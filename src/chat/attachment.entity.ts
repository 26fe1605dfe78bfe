import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { User } from '../auth/user.entity';
import { Message } from './message.entity';

/** An uploaded file: its owner, sniffed type and bytes; attached to at most one message. */
@Entity({ tableName: 'attachment' })
export class AttachmentFile {
  [OptionalProps]?: 'id' | 'createdAt' | 'message';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  @Index()
  owner!: User;

  @ManyToOne({ entity: () => Message, deleteRule: 'cascade', nullable: true })
  @Index()
  message?: Message | null;

  @Property({ type: 'text' })
  filename!: string;

  @Property({ type: 'text' })
  mimeType!: string;

  @Property({ type: 'integer' })
  size!: number;

  @Property({ type: 'blob', lazy: true })
  data!: Buffer;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();
}
