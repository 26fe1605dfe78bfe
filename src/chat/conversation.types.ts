import { MaxLength } from 'class-validator';
import { Field, InputType, registerEnumType } from 'type-graphql';

/** How `conversations` sorts: both newest first, ties broken by id. */
export enum ConversationOrder {
  UPDATED_AT = 'UPDATED_AT',
  CREATED_AT = 'CREATED_AT',
}

registerEnumType(ConversationOrder, {
  name: 'ConversationOrder',
  description: 'How conversations are sorted, newest first.',
  valuesConfig: {
    UPDATED_AT: { description: 'Most recently updated (a message sent, or the conversation changed) first.' },
    CREATED_AT: { description: 'Most recently created first.' },
  },
});

/** The longest `titleContains` accepted (titles themselves are at most 200 characters). */
export const MAX_TITLE_SEARCH = 200;

@InputType({ description: 'Which conversations to list; every field given narrows the result.' })
export class ConversationFilter {
  @Field(() => String, { nullable: true, description: 'Only titles containing this text, ignoring case (at most 200 characters).' })
  @MaxLength(MAX_TITLE_SEARCH)
  titleContains?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Only archived (true) or only unarchived (false) ones; both when omitted.' })
  archived?: boolean | null;
}

@InputType({ description: 'Changes to a conversation: only the fields given change.' })
export class UpdateConversationInput {
  @Field(() => String, { nullable: true, description: 'New title, 1 to 200 characters.' })
  @MaxLength(200)
  title?: string | null;

  @Field(() => String, { nullable: true, description: 'One of `models`.' })
  @MaxLength(200)
  model?: string | null;

  @Field(() => String, { nullable: true, description: 'New instructions sent first on every reply (at most 8,000 characters; empty removes them).' })
  @MaxLength(8000)
  systemPrompt?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Archive (true) or unarchive (false).' })
  archived?: boolean | null;
}
