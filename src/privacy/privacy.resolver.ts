import { GraphQLJSON } from 'graphql-scalars';
import { Arg, Ctx, Directive, Mutation, Resolver } from 'type-graphql';
import { requestMeta, requireAuth, type Context } from '../graphql/context';
import { rateLimitOf } from '../graphql/rate-limit';

@Resolver()
export class PrivacyResolver {
  @Directive(rateLimitOf('export'))
  @Mutation(() => GraphQLJSON, { description: 'Everything stored about the caller, as one JSON document (GDPR access and portability).' })
  exportMyData(@Ctx() ctx: Context): Promise<Record<string, unknown>> {
    return ctx.services.privacy.exportMyData(ctx.em, requireAuth(ctx), requestMeta(ctx));
  }

  @Directive(rateLimitOf('passwordCheck'))
  @Mutation(() => Boolean, {
    description: "Deletes the caller's account and everything about them (GDPR erasure); needs the password. Only audit events naming them by id remain.",
  })
  deleteMyAccount(@Arg('password', { description: 'The current password, to confirm.' }) password: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.privacy.deleteMyAccount(ctx.em, requireAuth(ctx), password, requestMeta(ctx));
  }
}
