import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { requireAuth, type Context } from '../graphql/context';
import { TokenUsage } from './chat.types';
import { usageSummary } from './usage';
import { UsageSummary } from './usage.types';

@Resolver()
export class UsageResolver {
  @Query(() => UsageSummary, {
    description: "The caller's token usage since a time (by UTC day, at most 366 days back), the daily quota and what remains of it today.",
  })
  myUsage(@Arg('since', () => Date, { description: 'Count from the UTC day of this time.' }) since: Date, @Ctx() ctx: Context): Promise<UsageSummary> {
    return usageSummary(ctx.em, ctx.config, requireAuth(ctx).userId, since);
  }
}

/** Fields computed from the counts, so every TokenUsage (stored, or on a stream event) answers them alike. */
@Resolver(() => TokenUsage)
export class TokenUsageResolver {
  @FieldResolver(() => Int, { description: 'Prompt plus completion tokens.' })
  totalTokens(@Root() u: TokenUsage): number {
    return u.promptTokens + u.completionTokens;
  }

  @FieldResolver(() => Boolean, { description: 'True when the provider reported no usage and Parley counted it (about 4 characters a token).' })
  estimated(@Root() u: TokenUsage): boolean {
    return u.estimated ?? false;
  }
}
