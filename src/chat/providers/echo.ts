import { setTimeout as sleep } from 'node:timers/promises';
import { estimatePromptTokens, estimateTokens, type CompletionRequest, type LlmProvider, type StreamChunk } from './provider';

/** Splits text into words, each with the whitespace that follows it. */
export function echoChunks(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/**
 * The built-in development provider: replies `Echo: ` and the last user message, one word
 * (with its following space) per chunk, ECHO_TOKEN_DELAY_MS apart. Deterministic, so tests and
 * demos need nothing external. It honours `maxTokens` as a real model would (4 characters a
 * token: the reply is cut there and finishes `length`); temperature and topP change nothing.
 */
export class EchoProvider implements LlmProvider {
  readonly name = 'echo';

  constructor(private readonly delayMs: number) {}

  async *stream(request: CompletionRequest, signal: AbortSignal): AsyncIterable<StreamChunk> {
    const last = [...request.turns].reverse().find((t) => t.role === 'user')?.content ?? '';
    const full = `Echo: ${last}`;
    const limit = request.maxTokens ? request.maxTokens * 4 : Infinity;
    const reply = full.length > limit ? full.slice(0, limit) : full;
    let first = true;
    for (const piece of echoChunks(reply)) {
      if (!first && this.delayMs > 0) await sleep(this.delayMs, undefined, { signal });
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      first = false;
      yield { type: 'delta', text: piece };
    }
    yield { type: 'finish', reason: reply.length < full.length ? 'length' : 'stop' };
    yield { type: 'usage', usage: { promptTokens: estimatePromptTokens(request.turns), completionTokens: estimateTokens(reply), estimated: true } };
  }
}
