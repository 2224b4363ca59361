import {
  classifyDatabaseError,
  DatabaseUnavailableError,
  type EventRow,
  type InsertedBatch,
  PermanentDatabaseError,
  type StoredKey,
} from '@webhooks/db';
import type { InsertBatch } from './database-circuit.js';
import type { StoreOutcome } from './decide.js';

/**
 * SQLSTATEs that may be caused by one row (a trigger or constraint of the operator's raising
 * them for that row) and fail fast: worth splitting on. Statement timeouts and lock waits are
 * about the database, not the row, and would cost a full wait per statement if split.
 */
const ROW_SPECIFIC_TRANSIENT = new Set(['40001', '40P01']);

/** What storing needs to hear of an insert: the rows it stored (those that were new). */
export type InsertedRows = Pick<InsertedBatch, 'stored'>;

/**
 * Stores `rows` and returns one outcome per row, in order; a row this call stored carries its
 * key (uuid, timestamp as stored), one that was stored before has none. When the statement fails because of
 * a row (refused as data, or a serialization failure or deadlock that a row may cause), the
 * batch is split in halves and each retried, so one bad row costs its neighbours only a few
 * extra statements (about 2·log2(n)) and never their success. Other transient failures (a
 * timeout, a lock wait) fail the whole batch at once: it is retried later through the retry
 * queues, without one slow statement per row.
 * A `DatabaseUnavailableError` is thrown as is: no row is at fault. Rows already stored by
 * then are harmless to store again (the insert skips duplicates).
 */
export async function storeBatch(
  rows: readonly EventRow[],
  insert: InsertBatch<InsertedRows>,
): Promise<StoreOutcome[]> {
  if (rows.length === 0) return [];
  try {
    const { stored } = await insert(rows);
    const keys = new Map(stored.map((key) => [rowKey(key), key]));
    return rows.map((row) => ({ kind: 'stored', key: keys.get(rowKey(row)) }));
  } catch (err) {
    const error = classifyDatabaseError(err);
    if (error instanceof DatabaseUnavailableError) throw error;
    const splittable =
      error instanceof PermanentDatabaseError || ROW_SPECIFIC_TRANSIENT.has(error.code ?? '');
    if (rows.length === 1 || !splittable) return rows.map(() => ({ kind: 'failed', error }));
    const middle = Math.ceil(rows.length / 2);
    const first = await storeBatch(rows.slice(0, middle), insert);
    const second = await storeBatch(rows.slice(middle), insert);
    return [...first, ...second];
  }
}

/** The unique key (source, event id) as one map key. */
export function rowKey(row: Pick<StoredKey, 'source' | 'eventId'>): string {
  return JSON.stringify([row.source, row.eventId]);
}
