import { Ctx, Query, Resolver } from 'type-graphql';
import type { Context } from '../graphql/context';
import { ModelInfo } from './model-info.type';
import { listModels } from './models';

@Resolver()
export class ModelsResolver {
  @Query(() => [ModelInfo], { description: 'The models this server offers; the first listed is the default.' })
  models(@Ctx() ctx: Context): ModelInfo[] {
    return listModels(ctx.config);
  }
}
