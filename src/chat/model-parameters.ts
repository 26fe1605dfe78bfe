import { Max, Min } from 'class-validator';
import { Field, Float, InputType, Int } from 'type-graphql';

/**
 * Sampling settings for one reply. Minimal stand-in so regenerateReply can take them: the
 * model-parameter work (issue 11) owns how they are bounded and sent to the provider.
 */
@InputType({ description: 'Sampling settings for one reply; omitted ones use the model defaults.' })
export class ModelParametersInput {
  @Field(() => Float, { nullable: true, description: 'Sampling temperature, 0 to 2.' })
  @Min(0)
  @Max(2)
  temperature?: number | null;

  @Field(() => Int, { nullable: true, description: "Most tokens the reply may have; capped by the server's limit and the remaining quota." })
  @Min(1)
  maxOutputTokens?: number | null;

  @Field(() => Float, { nullable: true, description: 'Nucleus sampling, 0 to 1.' })
  @Min(0)
  @Max(1)
  topP?: number | null;
}
