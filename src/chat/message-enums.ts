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
