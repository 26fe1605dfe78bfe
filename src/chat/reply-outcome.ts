import { FinishReason, MessageStatus, type ErrorCode } from './message-enums';
import { ProviderError, type ProviderFinish } from './providers/provider';

/** Why a generation was stopped from outside the provider's stream. */
export type StopReason = 'cancel' | 'delete' | 'quota' | 'shutdown' | 'timeout';

/** How a reply ended, as stored and announced: status, safe error text, stable code, finish reason. */
export interface ReplyOutcome {
  status: MessageStatus;
  error: string | null;
  errorCode: ErrorCode | null;
  finishReason: FinishReason;
}

const CANCELLED: ReplyOutcome = { status: MessageStatus.CANCELLED, error: null, errorCode: 'CANCELLED', finishReason: FinishReason.CANCELLED };

/** The outcome of each way a generation is stopped. */
export const OUTCOME_OF_STOP: Record<StopReason, ReplyOutcome> = {
  cancel: CANCELLED,
  delete: CANCELLED,
  quota: { status: MessageStatus.FAILED, error: 'quota exceeded', errorCode: 'QUOTA_EXCEEDED', finishReason: FinishReason.ERROR },
  shutdown: { status: MessageStatus.INTERRUPTED, error: null, errorCode: 'INTERRUPTED', finishReason: FinishReason.INTERRUPTED },
  timeout: { status: MessageStatus.FAILED, error: 'upstream timed out', errorCode: 'UPSTREAM_TIMEOUT', finishReason: FinishReason.ERROR },
};

/** The outcome of a reply that was not stopped: a failure (provider errors keep their code), or complete. */
export function outcomeOf(failure: unknown, finish: ProviderFinish | undefined): ReplyOutcome {
  if (failure instanceof ProviderError)
    return { status: MessageStatus.FAILED, error: failure.safeMessage, errorCode: failure.code, finishReason: FinishReason.ERROR };
  if (failure !== undefined) return { status: MessageStatus.FAILED, error: 'generation failed', errorCode: 'INTERNAL_ERROR', finishReason: FinishReason.ERROR };
  return { status: MessageStatus.COMPLETE, error: null, errorCode: null, finishReason: finish === 'length' ? FinishReason.LENGTH : FinishReason.STOP };
}
