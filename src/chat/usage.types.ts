import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: "A user's model usage over a period (from the daily token ledger), with the daily quota." })
export class UsageSummary {
  @Field(() => Int, { description: 'Prompt tokens, counted by UTC day from the day of `since` (at most 366 days back).' })
  promptTokens!: number;

  @Field(() => Int, { description: 'Completion tokens, over the same days.' })
  completionTokens!: number;

  @Field(() => Int, { description: 'Prompt plus completion tokens.' })
  totalTokens!: number;

  @Field(() => Int, { description: 'Messages the user sent since `since` (those still stored).' })
  messages!: number;

  @Field(() => Int, { nullable: true, description: 'Tokens allowed per UTC day (USER_DAILY_TOKEN_QUOTA); null when unlimited.' })
  dailyQuota!: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Tokens left today: the quota less what finished replies used and running replies reserved; null when unlimited.',
  })
  remainingToday!: number | null;
}
