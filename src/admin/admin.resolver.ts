import { Arg, Ctx, Directive, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import { auditEventTail, listAuditEvents } from '../audit/audit-query';
import { recordRead } from '../audit/operation-audit';
import { AuditChainReport, AuditEventConnection, AuditEventView, AuditFilter, AuditHeadInput, SecuritySummary, SortOrder } from '../audit/audit.types';
import { Role } from '../graphql/role';
import { User } from '../auth/user.entity';
import { requestMeta, requireAuth, type Context } from '../graphql/context';
import { BadUserInputError, ForbiddenError } from '../graphql/errors';
import { rateLimitOf } from '../graphql/rate-limit';
import type { AuditEventData } from '../pubsub/topics';
import { UserConnection, UserFilter } from './admin.types';
import { UsageSummary } from '../chat/usage.types';

@Resolver()
export class AdminResolver {
  @Directive(rateLimitOf('admin'))
  @Query(() => AuditEventConnection, { description: 'The audit trail, newest first unless `order: ASC`, filtered by every field given. ADMIN and AUDITOR.' })
  async auditEvents(
    @Arg('filter', () => AuditFilter, { nullable: true, description: 'What to narrow to.' }) filter: AuditFilter | null,
    @Arg('first', () => Int, { nullable: true, description: 'Page size, 1 to 100 (default 20).' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'Cursor of the last event of the previous page.' }) after: string | null,
    @Arg('order', () => SortOrder, { nullable: true, defaultValue: SortOrder.DESC, description: 'DESC: newest first; ASC: oldest first.' })
    order: SortOrder | null,
    @Ctx() ctx: Context,
  ): Promise<AuditEventConnection> {
    const page = await listAuditEvents(ctx.em, filter, first, after, order === SortOrder.ASC ? 'asc' : 'desc');
    recordRead(ctx, 'audit_event');
    return page;
  }

  @Directive(rateLimitOf('admin'))
  @Query(() => AuditChainReport, {
    description:
      'Recomputes the keyed audit chain and reports the first event that does not fit, or that it ends before the newest event the servers know of (or `expectedHead`). ADMIN and AUDITOR.',
  })
  async verifyAuditChain(
    @Arg('expectedHead', () => AuditHeadInput, {
      nullable: true,
      description: 'A head copied from an `audit.head` log line: the chain must reach it with the same hash.',
    })
    expectedHead: AuditHeadInput | null,
    @Ctx() ctx: Context,
  ): Promise<AuditChainReport> {
    if (expectedHead && (expectedHead.seq < 1 || !/^[0-9a-f]{64}$/.test(expectedHead.hash))) {
      throw new BadUserInputError('expectedHead needs a seq of at least 1 and a 64-character lower-case hex hash', { field: 'expectedHead' });
    }
    recordRead(ctx, 'audit_chain');
    const report = await ctx.services.audit.verify(ctx.em, undefined, expectedHead);
    return { ...report, reason: report.reason ?? null };
  }

  @Directive(rateLimitOf('admin'))
  @Query(() => UserConnection, { description: 'Users, newest first. ADMIN.' })
  async users(
    @Arg('filter', () => UserFilter, { nullable: true, description: 'What to narrow to.' }) filter: UserFilter | null,
    @Arg('first', () => Int, { nullable: true, description: 'Page size, 1 to 100 (default 20).' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'Cursor of the last user of the previous page.' }) after: string | null,
    @Ctx() ctx: Context,
  ): Promise<UserConnection> {
    const page = await ctx.services.admin.listUsers(ctx.em, filter, first, after);
    recordRead(ctx, 'user');
    return page;
  }

  @Directive(rateLimitOf('admin'))
  @Query(() => SecuritySummary, { description: 'Failed logins, locks, rate limiting and token reuse since a time, from the audit trail. ADMIN and AUDITOR.' })
  async securitySummary(@Arg('since', { description: 'Count from this time.' }) since: Date, @Ctx() ctx: Context): Promise<SecuritySummary> {
    recordRead(ctx, 'security_summary');
    return ctx.services.admin.securitySummary(ctx.em, since);
  }

  @Mutation(() => User, { description: "Changes a user's role (not your own; the last admin stays). Their sessions end. ADMIN." })
  setUserRole(
    @Arg('userId', () => ID, { description: 'The user.' }) userId: string,
    @Arg('role', () => Role, { description: 'The new role.' }) role: Role,
    @Ctx() ctx: Context,
  ): Promise<User> {
    return ctx.services.admin.setUserRole(ctx.em, requireAuth(ctx), userId, role, requestMeta(ctx));
  }

  @Mutation(() => User, { description: 'Locks a user out for a while: sessions end, sockets close, logins answer ACCOUNT_LOCKED. ADMIN.' })
  lockUser(
    @Arg('userId', () => ID, { description: 'The user.' }) userId: string,
    @Arg('minutes', () => Int, { description: 'How long, 1 to 525,600.' }) minutes: number,
    @Arg('reason', { description: 'Why (kept with the lock and in the audit trail).' }) reason: string,
    @Ctx() ctx: Context,
  ): Promise<User> {
    return ctx.services.admin.lockUser(ctx.em, requireAuth(ctx), userId, minutes, reason, requestMeta(ctx));
  }

  @Mutation(() => User, { description: 'Lifts an admin lock. ADMIN.' })
  unlockUser(@Arg('userId', () => ID, { description: 'The user.' }) userId: string, @Ctx() ctx: Context): Promise<User> {
    return ctx.services.admin.unlockUser(ctx.em, requireAuth(ctx), userId, requestMeta(ctx));
  }

  @Mutation(() => Boolean, { description: 'Ends every session of a user. ADMIN.' })
  revokeUserSessions(@Arg('userId', () => ID, { description: 'The user.' }) userId: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.admin.revokeUserSessions(ctx.em, requireAuth(ctx), userId, requestMeta(ctx));
  }

  @Subscription(() => AuditEventView, {
    description: 'Every audit event as it is written; with `afterSeq`, first the stored events after it. ADMIN and AUDITOR.',
    subscribe: ({ args, context }) => {
      // Checked here, where the subscription starts: shield's rules run per event, too late to refuse it.
      const ctx = context as Context;
      const auth = requireAuth(ctx);
      if (auth.role !== Role.ADMIN && auth.role !== Role.AUDITOR) throw new ForbiddenError();
      const { afterSeq } = args as { afterSeq?: number | null };
      return auditEventTail(ctx.em, ctx.services.pubsub, afterSeq ?? null);
    },
  })
  auditEventAdded(
    @Root() e: AuditEventData,
    @Arg('afterSeq', () => Int, {
      nullable: true,
      description: 'The last seq the caller has: events after it are replayed from the trail first (after SLOW_CONSUMER or a reconnect).',
    })
    _afterSeq: number | null,
  ): AuditEventView {
    return { ...e, at: new Date(e.at), actorRole: e.actorRole as Role | null, outcome: e.outcome as AuditEventView['outcome'] };
  }
}

@Resolver(() => User)
export class UserAdminResolver {
  @FieldResolver(() => UsageSummary, { description: 'Tokens used and messages sent since a time. ADMIN.' })
  usage(@Root() user: User, @Arg('since', { description: 'Count from this time.' }) since: Date, @Ctx() ctx: Context): Promise<UsageSummary> {
    return ctx.services.admin.usage(ctx.em, ctx.config, user.id, since);
  }
}
