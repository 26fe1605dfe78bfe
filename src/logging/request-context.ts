import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What every log line and error of one HTTP request or WebSocket operation can find without plumbing. */
export interface RequestScope {
  requestId: string;
  ip?: string;
  operationName?: string;
  userId?: string;
}

export const requestScope = new AsyncLocalStorage<RequestScope>();

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Keeps a caller's request id when it is well-formed (for tracing across services), else makes one. */
export function requestIdFrom(incoming: unknown): string {
  return typeof incoming === 'string' && VALID_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The current request id, if code runs inside a request. */
export function currentRequestId(): string | undefined {
  return requestScope.getStore()?.requestId;
}
