import { Entity, OptionalProps, Enum, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType } from 'type-graphql';
import { Role } from '../graphql/role';

@ObjectType({ description: 'A person with an account.' })
@Entity({ tableName: 'user' })
export class User {
  [OptionalProps]?: 'id' | 'createdAt' | 'updatedAt' | 'role';

  @Field(() => ID, { description: 'Stable random identifier.' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field({ description: 'Login email, trimmed and lower-cased.' })
  @Property({ type: 'text' })
  @Index({ name: 'user_email_unique', expression: 'create unique index "user_email_unique" on "user" (lower("email"))' })
  email!: string;

  /** argon2id hash; never exposed. */
  @Property({ type: 'text', hidden: true })
  passwordHash!: string;

  @Field(() => String, { nullable: true, description: 'Name shown to others; plain text, 1 to 64 characters.' })
  @Property({ type: 'text', nullable: true })
  displayName?: string | null;

  @Field(() => Role, { description: 'What this user may do.' })
  @Enum({ items: () => Role, nativeEnumName: 'user_role', default: Role.USER })
  role: Role = Role.USER;

  @Field({ description: 'When the account was created.' })
  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  @Field(() => Date, { nullable: true, description: 'Set while an administrator has locked the account.' })
  @Property({ type: 'timestamptz', nullable: true })
  lockedUntil?: Date | null;

  @Property({ type: 'text', nullable: true })
  lockReason?: string | null;
}
