import { Field, InputType, ObjectType } from 'type-graphql';
import { Role } from '../graphql/role';
import { User } from '../auth/user.entity';
import { Connection, Edge } from '../graphql/pagination';

@ObjectType({ description: 'A user in a page.' })
export class UserEdge extends Edge(User, 'The user.') {}

@ObjectType({ description: 'A page of users, newest first.' })
export class UserConnection extends Connection(UserEdge, 'The users.') {}

@InputType({ description: 'Which users to list.' })
export class UserFilter {
  @Field(() => String, { nullable: true, description: 'Email contains this (case-insensitive).' })
  emailContains?: string | null;

  @Field(() => Role, { nullable: true, description: 'Only this role.' })
  role?: Role | null;

  @Field(() => Boolean, { nullable: true, description: 'Only users an admin has locked now (true) or not (false).' })
  locked?: boolean | null;
}
