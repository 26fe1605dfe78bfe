import type { Config } from '../config';
import type { ModelInfo } from './model-info.type';

/** The configured models, the first being the default. */
export function listModels(config: Config): ModelInfo[] {
  return config.ai.models.map((id, i) => ({
    id,
    provider: config.ai.provider,
    default: i === 0,
    development: config.ai.provider === 'echo',
  }));
}
