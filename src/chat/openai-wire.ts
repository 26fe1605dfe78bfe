import type { Response } from 'express';
import type { Config } from '../config';
import type { ChatTurn, TokenUsageData } from './providers/provider';

/** Messages one request may carry; each is bounded like a sendMessage content, and all together by AI_MAX_CONTEXT_CHARS. */
export const MAX_PROMPT_MESSAGES = 100;
const MAX_MESSAGE_CHARS = 32_000;
const MAX_TEXT_PARTS = 100;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Model parameters as ModelParametersInput names them (validated here, applied by the chat service). */
export interface CompletionParameters {
  temperature?: number;
  maxOutputTokens?: number;
  topP?: number;
}

/** A validated `POST /v1/chat/completions` body. */
export interface CompletionRequestBody {
  model: string;
  prompt: ChatTurn[];
  /** The last user message: what is stored in the conversation as the caller's message. */
  lastUser: string;
  stream: boolean;
  includeUsage: boolean;
  parameters: CompletionParameters;
  conversationId?: string;
}

/** A request OpenAI's API would refuse with 400 `invalid_request_error`; `param` names the field. */
export class InvalidRequest extends Error {
  constructor(
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

/** Sends an error in OpenAI's shape: `{ error: { message, type, param, code } }`. */
export function sendOpenAiError(res: Response, status: number, message: string, type: string, code: string | null, param: string | null = null): void {
  res.status(status).json({ error: { message, type, param, code } });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A message's text: a string, or text parts (`{ type: 'text', text }`) joined; any other part is refused. */
function textOf(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content) || content.length > MAX_TEXT_PARTS) throw new InvalidRequest('content must be a string or an array of text parts', param);
  return content
    .map((part: unknown, i) => {
      if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string')
        throw new InvalidRequest('Only text content parts are supported', `${param}.${i}`);
      return part.text;
    })
    .join('');
}

/** The request's messages as the prompt (system, developer as system, user, assistant), bounded in count and size. */
function promptOf(messages: unknown, maxChars: number): ChatTurn[] {
  if (!Array.isArray(messages) || messages.length < 1 || messages.length > MAX_PROMPT_MESSAGES)
    throw new InvalidRequest(`messages must be an array of 1 to ${MAX_PROMPT_MESSAGES} messages`, 'messages');
  let total = 0;
  return messages.map((m: unknown, i): ChatTurn => {
    const param = `messages.${i}`;
    if (!isObject(m)) throw new InvalidRequest('Each message must be an object', param);
    const role = m.role === 'developer' ? 'system' : m.role;
    if (role !== 'system' && role !== 'user' && role !== 'assistant')
      throw new InvalidRequest('role must be system, developer, user or assistant', `${param}.role`);
    const content = textOf(m.content, `${param}.content`);
    if (content.length > MAX_MESSAGE_CHARS) throw new InvalidRequest(`A message may hold at most ${MAX_MESSAGE_CHARS} characters`, `${param}.content`);
    total += content.length;
    if (total > maxChars) throw new InvalidRequest(`messages may hold at most ${maxChars} characters in all`, 'messages');
    return { role, content };
  });
}

/** An optional number in [min, max] (whole when `integer`). */
function numberIn(body: Record<string, unknown>, name: string, min: number, max: number, integer = false): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v)))
    throw new InvalidRequest(`${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`, name);
  return v;
}

/** `temperature` (0–2), `top_p` (0–1) and `max_completion_tokens` / `max_tokens` (1 to AI_MAX_OUTPUT_TOKENS). */
function parametersOf(body: Record<string, unknown>, config: Config): CompletionParameters {
  const maxOutputTokens =
    numberIn(body, 'max_completion_tokens', 1, config.ai.maxOutputTokens, true) ?? numberIn(body, 'max_tokens', 1, config.ai.maxOutputTokens, true);
  const params: CompletionParameters = { temperature: numberIn(body, 'temperature', 0, 2), maxOutputTokens, topP: numberIn(body, 'top_p', 0, 1) };
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
}

/** `metadata.conversation_id`: one of the caller's conversations to continue (ownership is checked by the chat service). */
function conversationIdOf(metadata: unknown): string | undefined {
  if (metadata === undefined || metadata === null) return undefined;
  if (!isObject(metadata)) throw new InvalidRequest('metadata must be an object', 'metadata');
  const id = metadata.conversation_id;
  if (id === undefined) return undefined;
  if (typeof id !== 'string' || !UUID.test(id)) throw new InvalidRequest('metadata.conversation_id must be a conversation id', 'metadata.conversation_id');
  return id;
}

/** Validates a Chat Completions body; fields Parley does not use (user, seed, …) are ignored, `n` other than 1 and tools are refused. */
export function parseCompletionRequest(body: unknown, config: Config): CompletionRequestBody {
  if (!isObject(body)) throw new InvalidRequest('The body must be a JSON object');
  if (typeof body.model !== 'string' || body.model.length < 1 || body.model.length > 200) throw new InvalidRequest('model is required', 'model');
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw new InvalidRequest('Only n = 1 is supported', 'n');
  if (body.tools !== undefined && body.tools !== null) throw new InvalidRequest('Tools are not supported', 'tools');
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw new InvalidRequest('stream must be a boolean', 'stream');
  const prompt = promptOf(body.messages, config.ai.maxContextChars);
  const lastUser = [...prompt]
    .reverse()
    .find((t) => t.role === 'user')
    ?.content.trim();
  if (!lastUser) throw new InvalidRequest('messages must contain a user message with text', 'messages');
  const options = body.stream_options;
  return {
    model: body.model,
    prompt,
    lastUser,
    stream: body.stream === true,
    includeUsage: isObject(options) && options.include_usage === true,
    parameters: parametersOf(body, config),
    conversationId: conversationIdOf(body.metadata),
  };
}

/** OpenAI's `usage` object. */
export function usageOf(usage: TokenUsageData | null | undefined): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const prompt = usage?.promptTokens ?? 0;
  const completion = usage?.completionTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
