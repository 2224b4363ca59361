import type { DeadLettersRepository, RejectedRequestsRepository } from '@webhooks/db';
import {
  type RemoveExpiredEventsOptions,
  type RemoveExpiredEventsResult,
  removeExpiredEvents,
  removeExpiredRows,
  removeInBatches,
} from './remove-expired-events.js';

export interface RemoveRejectedRequestsOptions {
  rejected: Pick<RejectedRequestsRepository, 'deleteReceivedBefore' | 'deleteBeyondNewest'>;
  /** Received longer ago than this many days: removed; 0: none for their age. */
  retentionDays: number;
  /** Most rows kept, whatever their age: the oldest beyond it are removed. */
  maxRows: number;
  batchSize: number;
  signal?: AbortSignal | undefined;
}

/**
 * Kept rejected requests past `retentionDays`, then the oldest beyond `maxRows`, in short
 * batches: the table holds at most `maxRows` rows once a run has ended, however many refused
 * requests arrive.
 */
export async function removeRejectedRequests(
  options: RemoveRejectedRequestsOptions,
): Promise<RemoveExpiredEventsResult> {
  const byAge = await removeExpiredRows({
    deleteBefore: (before, limit) => options.rejected.deleteReceivedBefore(before, limit),
    retentionDays: options.retentionDays,
    batchSize: options.batchSize,
    signal: options.signal,
  });
  if (byAge.interrupted) return byAge;
  const beyondCap = await removeInBatches(
    (limit) => options.rejected.deleteBeyondNewest(options.maxRows, limit),
    options.batchSize,
    options.signal,
  );
  return {
    ...byAge,
    deleted: byAge.deleted + beyondCap.deleted,
    batches: byAge.batches + beyondCap.batches,
    interrupted: beyondCap.interrupted,
  };
}

export interface RemoveResolvedDeadLettersOptions {
  deadLetters: Pick<DeadLettersRepository, 'deleteResolvedBefore'>;
  /** Dead-lettered longer ago than this many days, and resolved: removed; 0: none. */
  retentionDays: number;
  batchSize: number;
  signal?: AbortSignal | undefined;
}

/**
 * Dead-letter records past `retentionDays` whose message was replayed and whose event is
 * stored. A record whose message still waits in the dead-letter queue stays, whatever its
 * age: it is how that message is found and replayed. Run before the events' own retention, so
 * that a record is removed while its event's key still says "stored".
 */
export function removeResolvedDeadLetters(
  options: RemoveResolvedDeadLettersOptions,
): Promise<RemoveExpiredEventsResult> {
  return removeExpiredRows({
    deleteBefore: (before, limit) => options.deadLetters.deleteResolvedBefore(before, limit),
    retentionDays: options.retentionDays,
    batchSize: options.batchSize,
    signal: options.signal,
  });
}

export interface RemoveEventsAndResolvedDeadLettersOptions
  extends Omit<RemoveExpiredEventsOptions, 'now'> {
  deadLetters: Pick<DeadLettersRepository, 'deleteResolvedBefore'>;
}

/**
 * The hourly run of the consumer and `pnpm retention`: resolved dead letters past
 * `retentionDays` first (while their events' keys still say "stored"), then the events.
 * The result is the events'; the dead letters removed are added as `deadLetters`.
 */
export async function removeEventsAndResolvedDeadLetters(
  options: RemoveEventsAndResolvedDeadLettersOptions,
): Promise<RemoveExpiredEventsResult & { deadLetters: number }> {
  const deadLetters = await removeResolvedDeadLetters(options);
  const events = await removeExpiredEvents(options);
  return { ...events, deadLetters: deadLetters.deleted };
}
