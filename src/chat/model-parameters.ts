import { Field, Float, InputType, Int } from 'type-graphql';
import { BadUserInputError } from '../graphql/errors';

/** Sampling and length settings for one reply; every field optional (the model's default when absent). */
export interface ModelParameters {
  temperature?: number | null;
  maxOutputTokens?: number | null;
  topP?: number | null;
}

@InputType({ description: 'How the model should write one reply. Every field is optional; absent means the model’s default.' })
export class ModelParametersInput implements ModelParameters {
  @Field(() => Float, { nullable: true, description: 'Sampling temperature, 0 to 2 (sent upstream as `temperature`).' })
  temperature?: number | null;

  @Field(() => Int, {
    nullable: true,
    description:
      'The most tokens the reply may have, 1 or more; capped by the server (AI_MAX_OUTPUT_TOKENS) and by what remains of the daily quota. A reply cut by it ends with finishReason LENGTH.',
  })
  maxOutputTokens?: number | null;

  @Field(() => Float, { nullable: true, description: 'Nucleus sampling, more than 0 and at most 1 (sent upstream as `top_p`).' })
  topP?: number | null;
}

const present = (v: number | null | undefined): v is number => v !== null && v !== undefined;

/**
 * Checks a caller's parameters (GraphQL or the OpenAI-compatible endpoint alike) and returns
 * only those set; out of range is BAD_USER_INPUT naming the field.
 */
export function checkModelParameters(p: ModelParameters | null | undefined): ModelParameters {
  if (!p) return {};
  const out: ModelParameters = {};
  if (present(p.temperature)) {
    if (!Number.isFinite(p.temperature) || p.temperature < 0 || p.temperature > 2)
      throw new BadUserInputError('temperature must be between 0 and 2', { field: 'parameters.temperature' });
    out.temperature = p.temperature;
  }
  if (present(p.maxOutputTokens)) {
    if (!Number.isSafeInteger(p.maxOutputTokens) || p.maxOutputTokens < 1)
      throw new BadUserInputError('maxOutputTokens must be a whole number, 1 or more', { field: 'parameters.maxOutputTokens' });
    out.maxOutputTokens = p.maxOutputTokens;
  }
  if (present(p.topP)) {
    if (!Number.isFinite(p.topP) || p.topP <= 0 || p.topP > 1)
      throw new BadUserInputError('topP must be more than 0 and at most 1', { field: 'parameters.topP' });
    out.topP = p.topP;
  }
  return out;
}
