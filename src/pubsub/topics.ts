import { createPubSub } from '@graphql-yoga/subscription';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import type Redis from 'ioredis';
import type { MessageStatus } from '../chat/message-enums';
import type { TokenUsageData } from '../chat/providers/provider';

/** An audit event as published (JSON-safe: dates as ISO strings). */
export interface AuditEventData {
  id: string;
  seq: number;
  at: string;
  actorId: string | null;
  actorRole: string | null;
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  outcome: string;
  ip: string | null;
  requestId: string | null;
  metadata: Record<string, unknown> | null;
  hash: string;
  prevHash: string;
}

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

/**
 * The only publish/subscribe surface: typed topics, scoped by id where they concern one thing.
 * In memory for one process; through Redis (two connections) when REDIS_URL is set, so every
 * instance sees every event.
 */
export type Topics = {
  /** Deltas and the final event of one message's generation. */
  'message:stream': [messageId: string, event: StreamEventData];
  /** Ask whichever instance runs a generation to stop it. */
  'generation:cancel': [payload: { messageId: string; reason: 'cancel' | 'delete' }];
  /** A session was revoked: every instance drops it from its cache and closes its sockets. */
  'session:revoked': [payload: { sessionId: string; origin: string }];
  /** Every audit event, once written (the live tail for admins and auditors). */
  'audit:events': [event: AuditEventData];
};

export type PubSub = ReturnType<typeof createPubSub<Topics>>;

/** Creates the process's pub/sub; `redis` gives the two connections Redis pub/sub needs. */
export function createTopics(redis?: { publish: Redis; subscribe: Redis }): PubSub {
  if (!redis) return createPubSub<Topics>();
  return createPubSub<Topics>({ eventTarget: createRedisEventTarget({ publishClient: redis.publish, subscribeClient: redis.subscribe }) });
}
