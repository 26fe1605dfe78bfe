import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { User } from '../auth/user.entity';
import { Message } from './message.entity';

/**
 * An uploaded file: its owner, sniffed type and size; attached to at most one message. The
 * bytes live in AttachmentChunk rows, written as they arrive; `complete` turns true only once
 * every byte is stored and the type is known, so a half-uploaded file is never served or attached.
 */
@Entity({ tableName: 'attachment' })
export class AttachmentFile {
  [OptionalProps]?: 'id' | 'createdAt' | 'message' | 'complete' | 'filenameSealed';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  @Index()
  owner!: User;

  @ManyToOne({ entity: () => Message, deleteRule: 'cascade', nullable: true })
  @Index()
  message?: Message | null;

  @Property({ persist: false })
  filename!: string;

  /** The `filename` column: the name sealed under the owner's data key (src/crypto). */
  @Property({ type: 'text', fieldName: 'filename', hidden: true })
  filenameSealed!: string;

  @Property({ type: 'text' })
  mimeType!: string;

  /** Bytes stored so far (the whole file once complete); counted against the owner's quota. */
  @Property({ type: 'integer' })
  size!: number;

  @Property({ type: 'boolean', default: false })
  complete: boolean = false;

  /** A PDF's text as sent to the model (capped, cut marked), extracted once on its first use; null until then. */
  @Property({ persist: false })
  extractedText?: string | null;

  /** The `extracted_text` column, sealed (src/crypto); lazy: read only when asked for. */
  @Property({ type: 'text', nullable: true, lazy: true, fieldName: 'extracted_text', hidden: true })
  extractedTextSealed?: string | null;

  /** Why a PDF's text could not be extracted (`unreadable`, `timeout`, `too_large`), so it is never retried. */
  @Property({ type: 'text', nullable: true })
  extractError?: string | null;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();
}

/** One piece of an attachment's bytes, in upload order; read back in `seq` order, one batch at a time. */
@Entity({ tableName: 'attachment_chunk' })
export class AttachmentChunk {
  [PrimaryKeyProp]?: ['attachment', 'seq'];

  @ManyToOne({ entity: () => AttachmentFile, primary: true, deleteRule: 'cascade' })
  attachment!: AttachmentFile;

  @PrimaryKey({ type: 'integer' })
  seq!: number;

  @Property({ persist: false })
  data!: Buffer;

  /** The `data` column: the bytes sealed under the owner's data key (src/crypto). */
  @Property({ type: 'blob', fieldName: 'data', hidden: true })
  dataSealed!: Buffer;
}
