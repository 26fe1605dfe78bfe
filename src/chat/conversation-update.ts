import { BadUserInputError } from '../graphql/errors';
import type { Conversation } from './conversation.entity';
import type { UpdateConversationInput } from './conversation.types';

/** The longest title, given or taken from the first message. */
export const MAX_TITLE = 200;
/** The longest title taken from a first message: a list shows a few words, not a paragraph. */
export const TITLE_FROM_MESSAGE = 60;
/** The longest system prompt. */
export const MAX_SYSTEM_PROMPT = 8000;

/**
 * A title from a conversation's first message: its whitespace folded, cut to at most `max`
 * characters at the last word boundary that fits (mid-word only when the first word alone is
 * longer than that, then never splitting a surrogate pair). No ellipsis is added, so the title
 * is always the start of the message.
 */
export function titleFromMessage(content: string, max = TITLE_FROM_MESSAGE): string {
  const text = content.replace(/\s+/g, ' ').trim();
  if (text.length <= max) return text;
  const space = text.lastIndexOf(' ', max); // a space at `max` means the word before it fits whole
  if (space > 0) return text.slice(0, space);
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** The trimmed text of a bounded text field: null when empty and `emptyIsNull`, else BAD_USER_INPUT when empty or over `max`. */
function boundedText(value: string, field: string, max: number, emptyIsNull: boolean): string | null {
  const text = value.trim();
  if (text.length === 0 && emptyIsNull) return null;
  if (text.length === 0 || text.length > max) throw new BadUserInputError(`${field} must be 1 to ${max} characters`, { field });
  return text;
}

/**
 * Applies `input` to `c` (fields left out or null stay as they are) and returns the names of
 * the fields whose value changed. A title must be 1 to 200 characters, a model one of
 * `models`, a system prompt at most 8,000 characters (empty removes it); else BAD_USER_INPUT,
 * and nothing is applied.
 */
export function conversationChanges(c: Conversation, input: UpdateConversationInput, models: readonly string[]): string[] {
  const given = <T>(v: T | null | undefined): v is T => v !== null && v !== undefined;
  const title = given(input.title) ? boundedText(input.title, 'title', MAX_TITLE, false) : undefined;
  if (given(input.model) && !models.includes(input.model))
    throw new BadUserInputError(`Unknown model; choose one of: ${models.join(', ')}`, { field: 'model' });
  const systemPrompt = given(input.systemPrompt) ? boundedText(input.systemPrompt, 'systemPrompt', MAX_SYSTEM_PROMPT, true) : undefined;
  // Every value is checked above, before any is applied.
  const changed: string[] = [];
  if (title !== undefined && title !== (c.title ?? null)) {
    c.title = title;
    changed.push('title');
  }
  if (given(input.model) && input.model !== c.model) {
    c.model = input.model;
    changed.push('model');
  }
  if (systemPrompt !== undefined && systemPrompt !== (c.systemPrompt ?? null)) {
    c.systemPrompt = systemPrompt;
    changed.push('systemPrompt');
  }
  if (given(input.archived) && input.archived !== c.archived) {
    c.archived = input.archived;
    changed.push('archived');
  }
  return changed;
}
