import { Arg, Ctx, Directive, ID, Field, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { requestMeta, requireAuth, type Context } from '../graphql/context';
import { rateLimitOf } from '../graphql/rate-limit';
import { ApiKey } from './api-key.entity';

@ObjectType({ description: 'A new API key and its secret, which is shown this once and never again.' })
export class ApiKeyPayload {
  @Field(() => ApiKey, { description: 'The key as `myApiKeys` lists it.' })
  apiKey!: ApiKey;

  @Field({ description: 'The secret (`pk_…`), for `Authorization: Bearer pk_…`; only its SHA-256 is kept.' })
  secret!: string;
}

/** API keys are managed only from an interactive session (the rule map refuses keys here). */
@Resolver()
export class ApiKeyResolver {
  @Query(() => [ApiKey], { description: "The caller's live API keys, newest first." })
  myApiKeys(@Ctx() ctx: Context): Promise<ApiKey[]> {
    return ctx.services.apiKeys.list(ctx.em, requireAuth(ctx));
  }

  @Directive(rateLimitOf('apiKey'))
  @Mutation(() => ApiKeyPayload, { description: 'Creates an API key for integrations (chat, usage and models only); returns its secret once.' })
  createApiKey(
    @Arg('name', () => String, { description: 'What it is for, 1 to 64 characters.' }) name: string,
    @Arg('expiresAt', () => Date, { nullable: true, description: 'When it stops working: in the future, at most 365 days away (the default).' })
    expiresAt: Date | null,
    @Ctx() ctx: Context,
  ): Promise<ApiKeyPayload> {
    return ctx.services.apiKeys.create(ctx.em, requireAuth(ctx), name, expiresAt, requestMeta(ctx));
  }

  @Mutation(() => Boolean, { description: 'Revokes one of your API keys at once, everywhere; open sockets using it close. Any other id is NOT_FOUND.' })
  async revokeApiKey(@Arg('id', () => ID, { description: 'The key to revoke.' }) id: string, @Ctx() ctx: Context): Promise<boolean> {
    await ctx.services.apiKeys.revoke(ctx.em, requireAuth(ctx), id, requestMeta(ctx));
    return true;
  }
}
