import { Ctx, Field, Int, ObjectType, Query, Resolver } from 'type-graphql';
import type { Context } from '../graphql/context';
import { ACCEPTED_UPLOAD_TYPES } from './upload-files';

@ObjectType({ description: 'What `POST /attachments` accepts, so a client can check a file before sending it.' })
export class UploadLimits {
  @Field(() => Int, { description: 'The largest file accepted, in bytes (MAX_UPLOAD_BYTES); a larger one is refused with 413.' })
  maxBytes!: number;

  @Field(() => [String], { description: 'The accepted types, decided from the bytes (not the name or header); any other is refused with 415.' })
  mimeTypes!: string[];
}

@Resolver()
export class UploadLimitsResolver {
  @Query(() => UploadLimits, { description: 'The upload size limit and the accepted file types (signed-in callers).' })
  uploadLimits(@Ctx() ctx: Context): UploadLimits {
    return { maxBytes: ctx.config.maxUploadBytes, mimeTypes: [...ACCEPTED_UPLOAD_TYPES] };
  }
}
