import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType } from 'type-graphql';
import { User } from './user.entity';

@ObjectType({ description: 'A long-lived credential for an integration: acts as its owner for chat, usage and model operations only.' })
@Entity({ tableName: 'api_key' })
export class ApiKey {
  [OptionalProps]?: 'id' | 'createdAt';

  @Field(() => ID, { description: 'Key id, for `revokeApiKey`.' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  @Index()
  user!: User;

  @Field({ description: 'What the owner called it (1 to 64 characters of plain text).' })
  @Property({ type: 'text' })
  name!: string;

  @Field({ description: 'The first characters of the secret, to tell keys apart; never enough to use it.' })
  @Property({ type: 'text' })
  prefix!: string;

  /** SHA-256 hex of the secret: the only form in which it is stored. */
  @Property({ type: 'text', hidden: true, unique: true })
  hash!: string;

  @Field({ description: 'When the key was created.' })
  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Field(() => Date, { nullable: true, description: 'When the key was last used (updated at most once a minute).' })
  @Property({ type: 'timestamptz', nullable: true })
  lastUsedAt?: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the key stops working.' })
  @Property({ type: 'timestamptz', nullable: true })
  expiresAt?: Date | null;
}
