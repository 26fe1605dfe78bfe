import { Entity, Index, ManyToOne, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Field, ID, ObjectType } from 'type-graphql';
import { User } from '../auth/user.entity';

@ObjectType({ description: 'A chat between its owner and a model. Only its owner sees it.' })
@Entity({ tableName: 'conversation' })
@Index({ properties: ['owner', 'createdAt', 'id'] })
@Index({ properties: ['owner', 'updatedAt', 'id'] })
export class Conversation {
  [OptionalProps]?: 'id' | 'createdAt' | 'updatedAt' | 'systemPrompt' | 'title' | 'titleSealed' | 'systemPromptSealed' | 'archived';

  @Field(() => ID, { description: 'Stable random identifier.' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  owner!: User;

  /** Null until given or taken from the first message; the API shows a placeholder meanwhile. */
  @Property({ persist: false })
  title?: string | null;

  /** The `title` column: the title sealed under the owner's data key (src/crypto). */
  @Property({ type: 'text', nullable: true, fieldName: 'title', hidden: true })
  titleSealed?: string | null;

  @Field({ description: 'The model replies come from.' })
  @Property({ type: 'text' })
  model!: string;

  @Field(() => String, { nullable: true, description: 'Instructions sent to the model first, on every reply.' })
  @Property({ persist: false })
  systemPrompt?: string | null;

  /** The `system_prompt` column: the prompt sealed under the owner's data key (src/crypto). */
  @Property({ type: 'text', nullable: true, fieldName: 'system_prompt', hidden: true })
  systemPromptSealed?: string | null;

  @Field({ description: 'Set aside by its owner: still listed unless `conversations(filter: { archived: false })`.' })
  @Property({ type: 'boolean', default: false })
  archived: boolean = false;

  @Field({ description: 'When the conversation was created.' })
  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Field({ description: 'When a message was last added or the conversation last changed.' })
  @Property({ type: 'timestamptz' })
  updatedAt: Date = new Date();
}
