import OpenAI from 'openai';
import { ProviderError, type ChatTurn, type CompletionRequest, type LlmProvider, type StreamChunk } from './provider';

const RETRIES_BEFORE_FIRST_TOKEN = 2;

/** A short message and stable code for an upstream failure: never the upstream body or the key. */
function safeError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  // The SDK's JSON.parse of an SSE event: the upstream broke the wire format; asking again will not mend it.
  if (err instanceof SyntaxError) return new ProviderError('upstream sent a malformed stream', false, 'UPSTREAM_ERROR');
  const status = (err as { status?: number }).status;
  if (status === 401 || status === 403) return new ProviderError('upstream authentication failed', false, 'UPSTREAM_REFUSED');
  if (status === 429) return new ProviderError('upstream rate limit reached', true, 'UPSTREAM_RATE_LIMITED');
  if (status !== undefined && status >= 500) return new ProviderError('upstream service error', true, 'UPSTREAM_ERROR');
  if (status !== undefined) return new ProviderError(`upstream refused the request (${status})`, false, 'UPSTREAM_REFUSED');
  return new ProviderError('upstream connection failed', true, 'UPSTREAM_ERROR');
}

/**
 * A turn in Chat Completions form. Attachments that are all text join the content as one string
 * (servers without multi-part support accept it); with an image the content becomes parts.
 */
function toWire(turn: ChatTurn): OpenAI.Chat.ChatCompletionMessageParam {
  const parts = turn.attachments ?? [];
  if (turn.role !== 'user' || parts.length === 0) return { role: turn.role, content: turn.content };
  if (parts.every((p) => p.type === 'text')) return { role: 'user', content: [turn.content, ...parts.map((p) => p.text)].join('\n\n') };
  return { role: 'user', content: [{ type: 'text', text: turn.content }, ...parts] };
}

/**
 * Any OpenAI-compatible Chat Completions endpoint (OpenAI, Ollama, vLLM, llama.cpp, LM Studio)
 * through the official `openai` package, streaming with usage. The output limit goes as
 * `max_tokens`, which all of them accept (OpenAI's reasoning models want `max_completion_tokens`
 * instead; none is configured by default). Retries only before the first token (nothing has
 * been shown yet); afterwards a broken stream fails the message.
 */
export class OpenAiProvider implements LlmProvider {
  readonly name = 'openai';
  private readonly client: OpenAI;

  constructor(opts: { baseURL: string; apiKey?: string }) {
    // logLevel off: the SDK would print an unparsable SSE event (the model's text) to the console.
    this.client = new OpenAI({ baseURL: opts.baseURL, apiKey: opts.apiKey ?? 'not-set', maxRetries: 0, timeout: 10 * 60_000, logLevel: 'off' });
  }

  private open(request: CompletionRequest, signal: AbortSignal) {
    return this.client.chat.completions.create(
      {
        model: request.model,
        messages: request.turns.map(toWire),
        stream: true,
        stream_options: { include_usage: true },
        ...(request.maxTokens ? { max_tokens: request.maxTokens } : {}),
        ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
        ...(request.topP !== undefined ? { top_p: request.topP } : {}),
      },
      { signal },
    );
  }

  async *stream(request: CompletionRequest, signal: AbortSignal): AsyncIterable<StreamChunk> {
    let attempt = 0;
    let started = false;
    for (;;) {
      try {
        const stream = await this.open(request, signal);
        for await (const chunk of stream) {
          const choice = chunk.choices?.[0];
          const text = choice?.delta?.content;
          if (text) {
            started = true;
            yield { type: 'delta', text };
          }
          // `length` is the output limit; anything else (stop, content_filter, tool_calls) ends the reply normally.
          if (choice?.finish_reason) yield { type: 'finish', reason: choice.finish_reason === 'length' ? 'length' : 'stop' };
          if (chunk.usage) {
            yield { type: 'usage', usage: { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens } };
          }
        }
        return;
      } catch (err) {
        if (signal.aborted) throw signal.reason ?? err;
        const safe = started && !(err instanceof SyntaxError) ? new ProviderError('upstream stream interrupted', false, 'UPSTREAM_ERROR') : safeError(err);
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
