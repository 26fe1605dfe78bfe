import { Field, ID, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A model a conversation can use.' })
export class ModelInfo {
  @Field(() => ID, { description: 'The model name to pass as `model` when creating a conversation.' })
  id!: string;

  @Field({ description: 'Which provider serves it: `echo` (built-in, development only) or `openai` (an OpenAI-compatible endpoint).' })
  provider!: string;

  @Field({ description: 'True for the model new conversations use when none is named.' })
  default!: boolean;

  @Field({ description: 'True for the built-in development echo provider, which repeats the message instead of calling an AI.' })
  development!: boolean;
}
