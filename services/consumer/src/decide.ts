import { PermanentDatabaseError, type TransientDatabaseError } from '@webhooks/db';
import type { InvalidMessageError } from './decode-message.js';

/** What happened to one message. */
export type Outcome =
  | { kind: 'stored' }
  | { kind: 'invalid'; error: InvalidMessageError }
  | { kind: 'failed'; error: TransientDatabaseError | PermanentDatabaseError };

/** Why a message is in the dead-letter queue (its `x-death-reason` header). */
export type DeathReason = 'invalid_message' | 'rejected_by_database' | 'retries_exhausted';

export type Decision =
  | { action: 'ack' }
  | { action: 'retry'; delayMs: number; nextAttempt: number; error: string }
  | { action: 'dead-letter'; reason: DeathReason; error: string };

/**
 * The consumer's whole policy, as a pure function of the message's attempt and its outcome:
 * permanent failures are dead-lettered at once; transient ones are retried after
 * `retryDelaysMs[attempt - 1]`, and dead-lettered once every delay has been used.
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

function describe(error: TransientDatabaseError | PermanentDatabaseError): string {
  return error.code === undefined ? error.message : `${error.code}: ${error.message}`;
}
