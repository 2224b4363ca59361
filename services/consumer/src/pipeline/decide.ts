import type { DeathReason } from '@webhooks/contracts';
import { PermanentDatabaseError, type StoredKey, type TransientDatabaseError } from '@webhooks/db';
import type { InvalidMessageError } from './decode-message.js';

/**
 * Anything thrown while a batch was processed that is neither a database failure nor an
 * invalid message: a bug. The batch takes the retry path, so a bug that repeats ends in the
 * dead-letter queue with this message rather than in a redelivery loop.
 */
export class BatchProcessingError extends Error {
  readonly code = 'BATCH_PROCESSING_FAILED';
  override name = 'BatchProcessingError';

  constructor(cause: unknown) {
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`unexpected error while processing the batch: ${detail}`, { cause });
  }
}

/** What storing one event came to. */
export type StoreOutcome =
  /** `key`: the row, when this insert stored it; none when it was stored before. */
  | { kind: 'stored'; key?: StoredKey | undefined }
  | { kind: 'failed'; error: TransientDatabaseError | PermanentDatabaseError };

/** What happened to one message. */
export type Outcome =
  | StoreOutcome
  | { kind: 'invalid'; error: InvalidMessageError }
  | { kind: 'failed'; error: BatchProcessingError }
  /** The database was still away when the consumer stopped: nothing is at fault. */
  | { kind: 'not-stored-at-shutdown' }
  /**
   * Stored, but not published to the events exchange (the broker refused or did not confirm,
   * or the stored row could not be read): the event is not at fault, and its redelivery
   * publishes it.
   */
  | { kind: 'not-published'; error: Error };

export type Decision =
  | { action: 'ack' }
  | { action: 'retry'; delayMs: number; nextAttempt: number; error: string }
  | { action: 'dead-letter'; reason: DeathReason; error: string }
  /** Back to the queue as it is, for this or another consumer to try again. */
  | { action: 'requeue' };

/**
 * The consumer's whole policy, as a pure function of the message's attempt and its outcome:
 * permanent failures are dead-lettered at once; transient ones (and unexpected errors) are
 * retried after `retryDelaysMs[attempt - 1]`, and dead-lettered once every delay has been used.
 * An event stored but not yet published goes back to the queue as it is: publishing again
 * is all it needs, and it must never end in the dead-letter queue for it.
 * With the default `[1000, 2000, 4000]` that is at most four tries.
 */
export function decide(
  outcome: Outcome,
  attempt: number,
  retryDelaysMs: readonly number[],
): Decision {
  switch (outcome.kind) {
    case 'stored':
      return { action: 'ack' };
    case 'not-stored-at-shutdown':
    case 'not-published':
      return { action: 'requeue' };
    case 'invalid':
      return { action: 'dead-letter', reason: 'invalid_message', error: outcome.error.message };
    case 'failed': {
      const error = describe(outcome.error);
      if (outcome.error instanceof PermanentDatabaseError) {
        return { action: 'dead-letter', reason: 'rejected_by_database', error };
      }
      const delayMs = retryDelaysMs[attempt - 1];
      if (delayMs === undefined)
        return { action: 'dead-letter', reason: 'retries_exhausted', error };
      return { action: 'retry', delayMs, nextAttempt: attempt + 1, error };
    }
  }
}

function describe(error: { code: string | undefined; message: string }): string {
  return error.code === undefined ? error.message : `${error.code}: ${error.message}`;
}
