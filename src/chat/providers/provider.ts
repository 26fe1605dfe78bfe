import type { ErrorCode } from '../message-enums';

/** Something attached to a user turn, as the model receives it: text (inlined files, notes) or an image. */
export type AttachmentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

/** One turn of the history sent to a model. */
export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  /** What the person (or the model) wrote. */
  content: string;
  /** A user turn's attachments, after `content` (see chat/attachments-to-model). */
  attachments?: AttachmentPart[];
}

export interface TokenUsageData {
  promptTokens: number;
  completionTokens: number;
  /** True when the provider reported none and Parley counted (4 characters a token). */
  estimated?: boolean;
}

/** Why the provider ended a reply it finished: its own stop, or the output limit. */
export type ProviderFinish = 'stop' | 'length';

/** What a provider yields: text deltas, then (once each, last) why it finished and the usage. */
export type StreamChunk = { type: 'delta'; text: string } | { type: 'usage'; usage: TokenUsageData } | { type: 'finish'; reason: ProviderFinish };

/** A model failure that is safe to show the user (no upstream body, no key), with its stable code. */
export class ProviderError extends Error {
  constructor(
    readonly safeMessage: string,
    readonly retryable = false,
    readonly code: ErrorCode = 'UPSTREAM_ERROR',
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

/** What a reply is generated from: the model, the history, the most output tokens allowed and the sampling settings. */
export interface CompletionRequest {
  model: string;
  turns: ChatTurn[];
  /** Sent upstream as `max_tokens` when set; the echo provider cuts its reply there. */
  maxTokens?: number;
  /** Sent upstream as `temperature` when set. */
  temperature?: number;
  /** Sent upstream as `top_p` when set. */
  topP?: number;
}

/** A rough token count (4 characters a token) for providers that report none. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** What an image is counted as before the provider reports usage (OpenAI bills 85 to ~1,100 per image). */
export const IMAGE_TOKEN_ESTIMATE = 1000;

/** A rough token count of the prompt: every turn's text and attachments. */
export function estimatePromptTokens(turns: ChatTurn[]): number {
  let chars = 0;
  let images = 0;
  for (const t of turns) {
    chars += t.content.length + 1;
    for (const a of t.attachments ?? []) {
      if (a.type === 'text') chars += a.text.length + 2;
      else images += 1;
    }
  }
  return Math.ceil(Math.max(0, chars - 1) / 4) + images * IMAGE_TOKEN_ESTIMATE;
}
