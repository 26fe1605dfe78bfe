import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { MaxLength } from 'class-validator';
import { GraphQLJSON } from 'graphql-scalars';
import { Role } from '../graphql/role';
import { Connection, Edge } from '../graphql/pagination';
import { AuditOutcome } from './audit-event.entity';

registerEnumType(AuditOutcome, { name: 'AuditOutcome', description: 'How an audited action ended.' });

/** Which end of a list comes first. */
export enum SortOrder {
  ASC = 'ASC',
  DESC = 'DESC',
}

registerEnumType(SortOrder, {
  name: 'SortOrder',
  description: 'Which end of a list comes first.',
  valuesConfig: { ASC: { description: 'Oldest (lowest) first.' }, DESC: { description: 'Newest (highest) first.' } },
});

@ObjectType('AuditEvent', { description: 'One record of the tamper-evident audit trail.' })
export class AuditEventView {
  @Field(() => ID, { description: 'Event id.' })
  id!: string;

  @Field(() => Int, { description: 'Position in the chain: 1, 2, 3… without gaps.' })
  seq!: number;

  @Field({ description: 'When it happened.' })
  at!: Date;

  @Field(() => ID, { nullable: true, description: 'Who did it (user id), when known.' })
  actorId!: string | null;

  @Field(() => Role, { nullable: true, description: 'Their role at the time.' })
  actorRole!: Role | null;

  @Field({ description: 'What happened, dotted lower case (`auth.login`, `chat.message.create`…).' })
  action!: string;

  @Field(() => String, { nullable: true, description: 'Kind of thing acted on.' })
  resourceType!: string | null;

  @Field(() => String, { nullable: true, description: 'Id of the thing acted on.' })
  resourceId!: string | null;

  @Field(() => AuditOutcome, { description: 'How it ended.' })
  outcome!: AuditOutcome;

  @Field(() => String, { nullable: true, description: 'Client IP.' })
  ip!: string | null;

  @Field(() => String, { nullable: true, description: 'Request id (matches the logs).' })
  requestId!: string | null;

  @Field(() => GraphQLJSON, { nullable: true, description: 'Details; never an email, password, token or message text.' })
  metadata!: Record<string, unknown> | null;

  @Field({ description: 'HMAC-SHA-256 (under a server-held key) over this event and prevHash; plain SHA-256 for events from before the chain was keyed.' })
  hash!: string;

  @Field({ description: 'The hash of the event before (64 zeros for the first).' })
  prevHash!: string;
}

@ObjectType({ description: 'An audit event in a page.' })
export class AuditEventEdge extends Edge(AuditEventView, 'The event.') {}

@ObjectType({ description: 'A page of audit events, newest first unless `order: ASC`.' })
export class AuditEventConnection extends Connection(AuditEventEdge, 'The events.') {}

@ObjectType({ description: 'The result of recomputing the audit hash chain.' })
export class AuditChainReport {
  @Field({ description: 'True when every event fits the chain.' })
  valid!: boolean;

  @Field(() => Int, { description: 'Events checked before the end or the first break.' })
  checked!: number;

  @Field(() => Int, { nullable: true, description: 'The first seq that does not fit (altered, or missing).' })
  firstBrokenSeq!: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Why the chain is not valid (altered, unkeyed, or ending before a known or expected head); null when valid.',
  })
  reason?: string | null;
}

@InputType({ description: 'A point of the chain copied from an `audit.head` log line: the event at `seq` had `hash`.' })
export class AuditHeadInput {
  @Field(() => Int, { description: 'The seq of the logged head.' })
  seq!: number;

  @Field({ description: 'Its hash (64 hex characters).' })
  hash!: string;
}

@InputType({ description: 'Which audit events to list; every field narrows the result.' })
export class AuditFilter {
  @Field(() => ID, { nullable: true, description: 'Only this actor.' })
  actorId?: string | null;

  @Field(() => String, { nullable: true, description: 'Only this action.' })
  action?: string | null;

  @Field(() => String, { nullable: true, description: 'Only actions starting with this text (`auth.` matches `auth.login`; at most 100 characters).' })
  @MaxLength(100)
  actionPrefix?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'True leaves out the `data.read` events (what was read, by whom).' })
  excludeReads?: boolean | null;

  @Field(() => String, { nullable: true, description: 'Only this resource type.' })
  resourceType?: string | null;

  @Field(() => String, { nullable: true, description: 'Only this resource id.' })
  resourceId?: string | null;

  @Field(() => AuditOutcome, { nullable: true, description: 'Only this outcome.' })
  outcome?: AuditOutcome | null;

  @Field(() => String, { nullable: true, description: 'Only this client IP.' })
  ip?: string | null;

  @Field(() => Date, { nullable: true, description: 'At or after this time.' })
  from?: Date | null;

  @Field(() => Date, { nullable: true, description: 'Before this time.' })
  to?: Date | null;
}

@ObjectType({ description: 'A count for one client IP.' })
export class IpCount {
  @Field({ description: 'The IP.' })
  ip!: string;

  @Field(() => Int, { description: 'How many.' })
  count!: number;
}

@ObjectType({ description: 'Security activity since a time, computed from the audit trail.' })
export class SecuritySummary {
  @Field(() => Int, { description: 'Failed login attempts.' })
  failedLogins!: number;

  @Field(() => Int, { description: 'Accounts locked (by failures or by an admin).' })
  lockedAccounts!: number;

  @Field(() => Int, { description: 'Requests refused by a rate limit.' })
  rateLimited!: number;

  @Field(() => Int, { description: 'Refresh tokens presented again after rotation.' })
  reusedRefreshTokens!: number;

  @Field(() => [IpCount], { description: 'The IPs with the most failed logins (at most 10).' })
  topFailingIps!: IpCount[];
}
