import { Field, ObjectType } from 'type-graphql';

/** Where a page of any connection ends and whether another follows (shared by chat, admin and audit). */
@ObjectType({ description: 'Cursor pagination state.' })
export class PageInfo {
  @Field({ description: 'True when another page follows.' })
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass as `after` for the next page.' })
  endCursor!: string | null;
}
