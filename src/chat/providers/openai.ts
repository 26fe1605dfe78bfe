import OpenAI from 'openai';
import { ProviderError, type CompletionRequest, type LlmProvider, type StreamChunk } from './provider';

const RETRIES_BEFORE_FIRST_TOKEN = 2;

/** A short message for an upstream failure: never the upstream body or the key. */
function safeError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const status = (err as { status?: number }).status;
  if (status === 401 || status === 403) return new ProviderError('upstream authentication failed');
  if (status === 429) return new ProviderError('upstream rate limit reached', true);
  if (status !== undefined && status >= 500) return new ProviderError('upstream service error', true);
  if (status !== undefined) return new ProviderError(`upstream refused the request (${status})`);
  return new ProviderError('upstream connection failed', true);
}

/**
 * Any OpenAI-compatible Chat Completions endpoint (OpenAI, Ollama, vLLM, llama.cpp, LM Studio)
 * through the official `openai` package, streaming with usage. Retries only before the first
 * token (nothing has been shown yet); afterwards a broken stream fails the message.
 */
export class OpenAiProvider implements LlmProvider {
  readonly name = 'openai';
  private readonly client: OpenAI;

  constructor(opts: { baseURL: string; apiKey?: string }) {
    this.client = new OpenAI({ baseURL: opts.baseURL, apiKey: opts.apiKey ?? 'not-set', maxRetries: 0, timeout: 10 * 60_000 });
  }

  async *stream(request: CompletionRequest, signal: AbortSignal): AsyncIterable<StreamChunk> {
    let attempt = 0;
    let started = false;
    for (;;) {
      try {
        const stream = await this.client.chat.completions.create(
          {
            model: request.model,
            messages: request.turns,
            stream: true,
            stream_options: { include_usage: true },
            ...(request.maxTokens ? { max_tokens: request.maxTokens } : {}),
          },
          { signal },
        );
        for await (const chunk of stream) {
          const text = chunk.choices?.[0]?.delta?.content;
          if (text) {
            started = true;
            yield { type: 'delta', text };
          }
          if (chunk.usage) {
            yield { type: 'usage', usage: { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens } };
          }
        }
        return;
      } catch (err) {
        if (signal.aborted) throw signal.reason ?? err;
        const safe = started ? new ProviderError('upstream stream interrupted') : safeError(err);
        if (!started && safe.retryable && attempt < RETRIES_BEFORE_FIRST_TOKEN) {
          attempt += 1;
          await new Promise((r) => setTimeout(r, 200 * attempt));
          continue;
        }
        throw safe;
      }
    }
  }
}
