import type { MessageStatus } from './message-enums';
import type { TokenUsageData } from './providers/provider';

/** One piece of an assistant reply: `delta` sits at character `offset` of the full content. */
export interface StreamEventData {
  messageId: string;
  offset: number;
  delta: string;
  done: boolean;
  status: MessageStatus;
  usage?: TokenUsageData | null;
  error?: string | null;
}

declare module '../pubsub/topics' {
  interface Topics {
    /** Deltas and the final event of one message's generation. */
    'message:stream': [messageId: string, event: StreamEventData];
  }
}
