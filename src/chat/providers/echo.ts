import { setTimeout as sleep } from 'node:timers/promises';
import { estimateTokens, type ChatTurn, type LlmProvider, type StreamChunk } from './provider';

/** Splits text into words, each with the whitespace that follows it. */
export function echoChunks(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/**
 * The built-in development provider: replies `Echo: ` and the last user message, one word
 * (with its following space) per chunk, ECHO_TOKEN_DELAY_MS apart. Deterministic, so tests and
 * demos need nothing external.
 */
export class EchoProvider implements LlmProvider {
  readonly name = 'echo';

  constructor(private readonly delayMs: number) {}

  async *stream(request: { model: string; turns: ChatTurn[] }, signal: AbortSignal): AsyncIterable<StreamChunk> {
    const last = [...request.turns].reverse().find((t) => t.role === 'user')?.content ?? '';
    const reply = `Echo: ${last}`;
    let first = true;
    for (const piece of echoChunks(reply)) {
      if (!first && this.delayMs > 0) await sleep(this.delayMs, undefined, { signal });
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      first = false;
      yield { type: 'delta', text: piece };
    }
    yield {
      type: 'usage',
      usage: { promptTokens: estimateTokens(request.turns.map((t) => t.content).join('\n')), completionTokens: estimateTokens(reply) },
    };
  }
}
