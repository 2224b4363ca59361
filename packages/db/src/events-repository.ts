import type { Database } from './database.js';

/** One event as stored: the queue message's fields, mapped onto `webhook_events`. */
export interface EventRow {
  eventId: string;
  source: string;
  type: string;
  data: Record<string, unknown>;
  /** RFC 3339. */
  timestamp: string;
}

/**
 * Stores a batch in one statement. Rows whose (source, event_id) is already stored, in the
 * table or earlier in the same batch, are skipped: redeliveries and retries insert nothing.
 * The arrays are passed as five parameters whatever the batch size, so the statement text and
 * plan stay the same.
 */
const INSERT_EVENTS = `
  INSERT INTO webhook_events (event_id, source, type, data, "timestamp")
  SELECT e.event_id, e.source, e.type, e.data::jsonb, e.ts
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
    AS e(event_id, source, type, data, ts)
  ON CONFLICT (source, event_id) DO NOTHING`;

export class EventsRepository {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Returns how many rows were new. Throws a classified `DatabaseError`. */
  async insertBatch(rows: readonly EventRow[]): Promise<{ inserted: number }> {
    if (rows.length === 0) return { inserted: 0 };
    const result = await this.#db.query(INSERT_EVENTS, [
      rows.map((r) => r.eventId),
      rows.map((r) => r.source),
      rows.map((r) => r.type),
      rows.map((r) => JSON.stringify(r.data)),
      rows.map((r) => r.timestamp),
    ]);
    return { inserted: result.rowCount ?? 0 };
  }
}
