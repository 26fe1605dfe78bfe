import { registerEnumType } from 'type-graphql';

export enum MessageRole {
  SYSTEM = 'SYSTEM',
  USER = 'USER',
  ASSISTANT = 'ASSISTANT',
}

export enum MessageStatus {
  STREAMING = 'STREAMING',
  COMPLETE = 'COMPLETE',
  CANCELLED = 'CANCELLED',
  FAILED = 'FAILED',
  INTERRUPTED = 'INTERRUPTED',
}

registerEnumType(MessageRole, { name: 'MessageRole', description: 'Who wrote a message.' });
registerEnumType(MessageStatus, {
  name: 'MessageStatus',
  description: 'Where a message is: STREAMING while an assistant reply arrives, then COMPLETE, CANCELLED, FAILED, or INTERRUPTED (its process died).',
});

/** Why a reply ended. */
export enum FinishReason {
  STOP = 'STOP',
  LENGTH = 'LENGTH',
  CANCELLED = 'CANCELLED',
  ERROR = 'ERROR',
  INTERRUPTED = 'INTERRUPTED',
}

registerEnumType(FinishReason, {
  name: 'FinishReason',
  description:
    'Why a reply ended: STOP (the model finished), LENGTH (the output limit cut it: maxOutputTokens, AI_MAX_OUTPUT_TOKENS or the daily quota), CANCELLED, ERROR (see errorCode) or INTERRUPTED (its process died).',
});

/**
 * The stable `Message.errorCode` values (README lists them): set on every reply that did not
 * complete, so clients switch on a code, never on the `error` text.
 */
export const ERROR_CODES = [
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_ERROR',
  'UPSTREAM_RATE_LIMITED',
  'UPSTREAM_REFUSED',
  'QUOTA_EXCEEDED',
  'CANCELLED',
  'INTERRUPTED',
  'INTERNAL_ERROR',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
