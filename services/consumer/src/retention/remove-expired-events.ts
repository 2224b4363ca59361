import type { EventsRepository } from '@webhooks/db';

const DAY_MS = 86_400_000;

export interface RemoveExpiredEventsOptions {
  events: Pick<EventsRepository, 'deleteCreatedBefore'>;
  /** Events stored longer ago than this many days are removed; 0 removes nothing. */
  retentionDays: number;
  /** Rows per DELETE statement. */
  batchSize: number;
  /** Checked between batches: aborting stops the run after the batch in hand (shutdown). */
  signal?: AbortSignal | undefined;
  now?: () => Date;
}

export interface RemoveExpiredEventsResult {
  /** Rows removed. */
  deleted: number;
  /** DELETE statements run. */
  batches: number;
  /** Rows stored before this were removed; undefined when retention is disabled. */
  createdBefore: Date | undefined;
  /** The run stopped early because `signal` was aborted. */
  interrupted: boolean;
}

/**
 * Removes events older than `retentionDays`, oldest first, in batches of `batchSize`, each its
 * own short statement: no long transaction, no lock held between batches, and inserts carry on
 * meanwhile. The cut-off is fixed at the start, so a run ends even while rows keep ageing.
 * Throws a classified `DatabaseError`; rows removed by then stay removed.
 */
export async function removeExpiredEvents(
  options: RemoveExpiredEventsOptions,
): Promise<RemoveExpiredEventsResult> {
  if (options.retentionDays === 0) {
    return { deleted: 0, batches: 0, createdBefore: undefined, interrupted: false };
  }
  const now = options.now?.() ?? new Date();
  const createdBefore = new Date(now.getTime() - options.retentionDays * DAY_MS);
  let deleted = 0;
  let batches = 0;
  for (;;) {
    if (options.signal?.aborted === true) {
      return { deleted, batches, createdBefore, interrupted: true };
    }
    const removed = await options.events.deleteCreatedBefore(createdBefore, options.batchSize);
    batches += 1;
    deleted += removed;
    if (removed < options.batchSize) return { deleted, batches, createdBefore, interrupted: false };
  }
}
