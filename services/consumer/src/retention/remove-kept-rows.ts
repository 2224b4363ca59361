import type { DeadLettersRepository, RejectedRequestsRepository } from '@webhooks/db';
import {
  PARTITION_DAYS_AHEAD,
  type RemoveExpiredEventsOptions,
  type RemoveExpiredEventsResult,
  removeExpiredEvents,
  removeExpiredRows,
  removeInBatches,
} from './remove-expired-events.js';

const DAY_MS = 86_400_000;

export interface RemoveRejectedRequestsOptions {
  rejected: Pick<
    RejectedRequestsRepository,
    'partitions' | 'createPartitions' | 'dropPartition' | 'deleteBeyondNewest'
  >;
  /** Received longer ago than this many days: removed, a day at a time; 0: none for age. */
  retentionDays: number;
  /** Most rows kept, whatever their age: the oldest beyond it are removed. */
  maxRows: number;
  batchSize: number;
  signal?: AbortSignal | undefined;
  now?: () => Date;
}

/**
 * Kept rejected requests, partitioned by day of receipt like the events: makes the partitions
 * of the days ahead, drops the days past `retentionDays` (by their bounds), then removes the
 * oldest beyond `maxRows` in short batches: the table holds at most `maxRows` rows once a run
 * has ended, however many refused requests arrive.
 */
export async function removeRejectedRequests(
  options: RemoveRejectedRequestsOptions,
): Promise<RemoveExpiredEventsResult> {
  await options.rejected.createPartitions(options.now?.(), PARTITION_DAYS_AHEAD + 1);
  let deleted = 0;
  let partitionsDropped = 0;
  let createdBefore: Date | undefined;
  if (options.retentionDays > 0) {
    const now = options.now?.() ?? new Date();
    const before = new Date(now.getTime() - options.retentionDays * DAY_MS);
    createdBefore = before;
    const expired = (await options.rejected.partitions()).filter(
      (p) => p.detaching || (p.to !== null && p.to.getTime() <= before.getTime()),
    );
    for (const partition of expired) {
      if (options.signal?.aborted === true) {
        return { deleted, batches: 0, createdBefore, interrupted: true, partitionsDropped };
      }
      const { rows, dropped } = await options.rejected.dropPartition(partition);
      deleted += rows;
      if (dropped) partitionsDropped += 1;
    }
  }
  const beyondCap = await removeInBatches(
    (limit) => options.rejected.deleteBeyondNewest(options.maxRows, limit),
    options.batchSize,
    options.signal,
  );
  return {
    deleted: deleted + beyondCap.deleted,
    batches: beyondCap.batches,
    createdBefore,
    interrupted: beyondCap.interrupted,
    partitionsDropped,
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
