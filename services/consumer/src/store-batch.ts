import { classifyDatabaseError, DatabaseUnavailableError, type EventRow } from '@webhooks/db';
import type { Outcome } from './decide.js';

/** Inserts rows in one statement, throwing a classified `DatabaseError`. */
export type InsertBatch = (rows: readonly EventRow[]) => Promise<unknown>;

/**
 * Stores `rows` and returns one outcome per row, in order. When the statement fails because of
 * the data, the batch is split in halves and each retried, so one bad row costs its neighbours
 * only a few extra statements (about 2·log2(n)) and never their success.
 * A `DatabaseUnavailableError` is thrown as is: no row is at fault, and the caller holds the
 * whole batch until the database is back. Rows already stored by then are harmless to store
 * again (the insert skips duplicates).
 */
export async function storeBatch(
  rows: readonly EventRow[],
  insert: InsertBatch,
): Promise<Outcome[]> {
  if (rows.length === 0) return [];
  try {
    await insert(rows);
    return rows.map(() => ({ kind: 'stored' }));
  } catch (err) {
    const error = classifyDatabaseError(err);
    if (error instanceof DatabaseUnavailableError) throw error;
    if (rows.length === 1) {
      return [{ kind: 'failed', error }];
    }
    const middle = Math.ceil(rows.length / 2);
    const first = await storeBatch(rows.slice(0, middle), insert);
    const second = await storeBatch(rows.slice(middle), insert);
    return [...first, ...second];
  }
}
