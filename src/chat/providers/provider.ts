/** One turn of the history sent to a model. */
export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface TokenUsageData {
  promptTokens: number;
  completionTokens: number;
}

/** What a provider yields: text deltas, then (once, last) the usage. */
export type StreamChunk = { type: 'delta'; text: string } | { type: 'usage'; usage: TokenUsageData };

/** A model failure that is safe to show the user (no upstream body, no key). */
export class ProviderError extends Error {
  constructor(
    readonly safeMessage: string,
    readonly retryable = false,
  ) {
    super(safeMessage);
    this.name = 'ProviderError';
  }
}

/** Every LLM provider: stream a reply for `turns`, stopping when `signal` aborts. */
export interface LlmProvider {
  readonly name: string;
  stream(request: CompletionRequest, signal: AbortSignal): AsyncIterable<StreamChunk>;
}

/** What a reply is generated from: the model, the history, and the most output tokens allowed. */
export interface CompletionRequest {
  model: string;
  turns: ChatTurn[];
  /** Sent upstream as `max_tokens` when set. */
  maxTokens?: number;
}

/** A rough token count (4 characters a token) for providers that report none. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
