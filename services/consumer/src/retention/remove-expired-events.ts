import type { EventsRepository } from '@webhooks/db';

const DAY_MS = 86_400_000;

/** Days after today that always have a partition, made by every run. */
export const PARTITION_DAYS_AHEAD = 3;

export interface RemoveExpiredEventsOptions {
  events: Pick<
    EventsRepository,
    | 'partitions'
    | 'dropPartition'
    | 'deleteKeysBefore'
    | 'createPartitions'
    | 'vacuumClosedPartitions'
    | 'completePartitionIndexes'
  >;
  /** Events stored longer ago than this many days are removed; 0 removes nothing. */
  retentionDays: number;
  /** Rows per DELETE statement (deliveries of a dropped day, dedup keys). */
  batchSize: number;
  /** Checked between steps: aborting stops the run after the step in hand (shutdown). */
  signal?: AbortSignal | undefined;
  now?: () => Date;
}

export interface RemoveExpiredEventsResult {
  /** Rows removed: for events, the ids whose dedup keys were cleared (one per event). */
  deleted: number;
  /** DELETE statements run for them. */
  batches: number;
  /** Rows stored before this were removed; undefined when retention is disabled. */
  createdBefore: Date | undefined;
  /** The run stopped early because `signal` was aborted. */
  interrupted: boolean;
  /** Partitions of events dropped (whole days). */
  partitionsDropped?: number;
  /** Partitions made for the days ahead. */
  partitionsMade?: number;
  /** Partitions of days that ended, vacuumed once. */
  partitionsVacuumed?: number;
  /** Indexes built on partitions that lacked them (after an upgrade). */
  indexesBuilt?: number;
}

/**
 * One run of event retention, partition by partition:
 * 1. makes the partitions of today and the next PARTITION_DAYS_AHEAD days that are missing;
 * 2. drops every partition whose upper bound is at or before the cut-off (now minus
 *    `retentionDays`), read from its bounds whatever its name, after its events' deliveries;
 *    a day whose last events are not yet that old is kept whole until they are;
 * 3. clears the dedup keys of the events no partition holds any more, in batches;
 * 4. vacuums, once, each partition whose day has ended (see `vacuumClosedPartitions`);
 * 5. builds the indexes a partition lacks (after an upgrade), concurrently.
 * Nothing is deleted from a partition that stays, so the events table keeps no dead rows.
 * Throws a classified `DatabaseError`; what was removed by then stays removed.
 */
export async function removeExpiredEvents(
  options: RemoveExpiredEventsOptions,
): Promise<RemoveExpiredEventsResult> {
  const partitionsMade = await options.events.createPartitions(
    options.now?.(),
    PARTITION_DAYS_AHEAD + 1,
  );
  if (options.retentionDays === 0) {
    const vacuumed = await options.events.vacuumClosedPartitions();
    const built = await options.events.completePartitionIndexes();
    return {
      deleted: 0,
      batches: 0,
      createdBefore: undefined,
      interrupted: false,
      partitionsDropped: 0,
      partitionsMade,
      partitionsVacuumed: vacuumed.length,
      indexesBuilt: built.length,
    };
  }
  const now = options.now?.() ?? new Date();
  const createdBefore = new Date(now.getTime() - options.retentionDays * DAY_MS);
  const result: RemoveExpiredEventsResult = {
    deleted: 0,
    batches: 0,
    createdBefore,
    interrupted: false,
    partitionsDropped: 0,
    partitionsMade,
  };
  const partitions = await options.events.partitions();
  const expired = partitions.filter(
    (p) => p.detaching || (p.to !== null && p.to.getTime() <= createdBefore.getTime()),
  );
  for (const partition of expired) {
    if (options.signal?.aborted === true) return { ...result, interrupted: true };
    const { dropped } = await options.events.dropPartition(partition, options.batchSize);
    if (dropped) result.partitionsDropped = (result.partitionsDropped ?? 0) + 1;
  }
  // A key goes once no partition could hold its event: stored before the cut-off and before
  // the oldest partition left (one without a lower bound keeps every key). Listed again: a
  // partition another run has not finished dropping still holds its keys back.
  const kept = await options.events.partitions();
  if (!kept.some((p) => p.from === null)) {
    const oldestKept = Math.min(...kept.map((p) => p.from?.getTime() ?? 0));
    const keysBefore = new Date(Math.min(oldestKept, createdBefore.getTime()));
    for (;;) {
      if (options.signal?.aborted === true) return { ...result, interrupted: true };
      const removed = await options.events.deleteKeysBefore(keysBefore, options.batchSize);
      result.batches += 1;
      result.deleted += removed;
      if (removed < options.batchSize) break;
    }
  }
  if (stopped(options.signal)) return { ...result, interrupted: true };
  result.partitionsVacuumed = (await options.events.vacuumClosedPartitions()).length;
  if (stopped(options.signal)) return { ...result, interrupted: true };
  result.indexesBuilt = (await options.events.completePartitionIndexes()).length;
  return result;
}

/** Whether `signal` asks the run to stop (a function: each call reads it anew). */
const stopped = (signal: AbortSignal | undefined): boolean => signal?.aborted === true;

export interface RemoveExpiredRowsOptions {
  /** Removes up to `limit` of the oldest rows older than `before`; returns how many. */
  deleteBefore: (before: Date, limit: number) => Promise<number>;
  /** Rows older than this many days are removed; 0 removes nothing. */
  retentionDays: number;
  /** Rows per DELETE statement. */
  batchSize: number;
  signal?: AbortSignal | undefined;
  now?: () => Date;
}

/**
 * Removes rows older than `retentionDays`, oldest first, in batches of `batchSize`, each its
 * own short statement: no long transaction, no lock held between batches, and inserts carry on
 * meanwhile. The cut-off is fixed at the start, so a run ends even while rows keep ageing.
 * For the tables that are not partitioned (kept rejected requests, resolved dead letters).
 */
export async function removeExpiredRows(
  options: RemoveExpiredRowsOptions,
): Promise<RemoveExpiredEventsResult> {
  if (options.retentionDays === 0) {
    return { deleted: 0, batches: 0, createdBefore: undefined, interrupted: false };
  }
  const now = options.now?.() ?? new Date();
  const createdBefore = new Date(now.getTime() - options.retentionDays * DAY_MS);
  return removeInBatches(
    (limit) => options.deleteBefore(createdBefore, limit),
    options.batchSize,
    options.signal,
    createdBefore,
  );
}

/** Runs `remove` until it removes fewer than `batchSize`, or `signal` is aborted. */
export async function removeInBatches(
  remove: (limit: number) => Promise<number>,
  batchSize: number,
  signal: AbortSignal | undefined,
  createdBefore?: Date,
): Promise<RemoveExpiredEventsResult> {
  let deleted = 0;
  let batches = 0;
  for (;;) {
    if (signal?.aborted === true) return { deleted, batches, createdBefore, interrupted: true };
    const removed = await remove(batchSize);
    batches += 1;
    deleted += removed;
    if (removed < batchSize) return { deleted, batches, createdBefore, interrupted: false };
  }
}
