import { stringifyExactJson } from '@webhooks/contracts';
import type { Database } from './database.js';

/** One event as stored: the queue message's fields, mapped onto `webhook_events`. */
export interface EventRow {
  eventId: string;
  source: string;
  type: string;
  /** Its numbers may be `ExactNumber`s: they are stored with every digit. */
  data: Record<string, unknown>;
  /** RFC 3339. */
  timestamp: string;
}

/**
 * Stores a batch in one statement. Rows whose (source, event_id) is already stored, in the
 * table or earlier in the same batch, are skipped: redeliveries and retries insert nothing.
 * The rows are passed as five parameters whatever the batch size, so the statement text and
 * plan stay the same. `data` travels as one JSON array, each event's JSON text joined as is:
 * as a `text[]` literal every quote of every event would be escaped, and the driver's escaping
 * takes about eleven times the text's size in memory (200 MB for a 16 MiB batch).
 */
const INSERT_EVENTS = `
  INSERT INTO webhook_events (event_id, source, type, data, "timestamp")
  SELECT e.event_id, e.source, e.type, d.data, e.ts
  FROM unnest($1::text[], $2::text[], $3::text[], $5::timestamptz[])
    WITH ORDINALITY AS e(event_id, source, type, ts, n)
  JOIN jsonb_array_elements($4::jsonb) WITH ORDINALITY AS d(data, n) USING (n)
  ON CONFLICT (source, event_id) DO NOTHING`;

/**
 * One batch of retention: the oldest rows stored before $1, at most $2 of them, found through
 * the created_at index and removed by primary key in one short statement (its own
 * transaction, so no lock is held between batches). SKIP LOCKED: rows another retention run
 * (another consumer) is removing are left to it rather than waited for.
 */
const DELETE_CREATED_BEFORE = `
  DELETE FROM webhook_events
  WHERE id = ANY (ARRAY(
    SELECT id FROM webhook_events
    WHERE created_at < $1
    ORDER BY created_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED))`;

/** A stored event as the events API shows it. Times are RFC 3339 UTC with microseconds. */
export interface StoredEvent {
  id: string;
  eventId: string;
  source: string;
  type: string;
  /**
   * `data` as `jsonb` writes it: JSON text whose numbers are exactly those stored. Parsing it
   * with `JSON.parse` would round every number to a double; splice it into a response as is.
   */
  dataJson: string;
  timestamp: string;
  createdAt: string;
}

/** Where a page ends: the last row's position in (created_at DESC, id DESC) order. */
export interface EventPosition {
  createdAt: string;
  id: string;
}

export interface EventFilter {
  source?: string | undefined;
  type?: string | undefined;
  /** Stored at or after (RFC 3339). */
  from?: string | undefined;
  /** Stored before (RFC 3339). */
  to?: string | undefined;
  /** The provider's event id. */
  eventId?: string | undefined;
  /** JSON text of an object that `data` must contain (jsonb `@>`), passed to PostgreSQL as is. */
  contains?: string | undefined;
}

export interface SourceTypeCount {
  source: string;
  type: string;
  count: number;
}

/** Exact to the microsecond, so a cursor built from it never skips or repeats a row. */
const UTC_MICROS = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;
const EVENT_COLUMNS = `
  id, event_id, source, type, data::text AS data_json,
  to_char("timestamp" AT TIME ZONE 'UTC', ${UTC_MICROS}) AS "timestamp",
  to_char(created_at AT TIME ZONE 'UTC', ${UTC_MICROS}) AS created_at`;

interface EventDbRow {
  id: string;
  event_id: string;
  source: string;
  type: string;
  data_json: string;
  timestamp: string;
  created_at: string;
}

function toStoredEvent(row: EventDbRow): StoredEvent {
  return {
    id: row.id,
    eventId: row.event_id,
    source: row.source,
    type: row.type,
    dataJson: row.data_json,
    timestamp: row.timestamp,
    createdAt: row.created_at,
  };
}

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
      `[${rows.map((r) => stringifyExactJson(r.data)).join(',')}]`,
      rows.map((r) => r.timestamp),
    ]);
    return { inserted: result.rowCount ?? 0 };
  }

  /**
   * Removes up to `limit` of the oldest events stored before `createdBefore` and returns how
   * many it removed; fewer than `limit` means none are left (unless another run holds some).
   * Throws a classified `DatabaseError`.
   */
  async deleteCreatedBefore(createdBefore: Date, limit: number): Promise<number> {
    const result = await this.#db.query(DELETE_CREATED_BEFORE, [createdBefore, limit]);
    return result.rowCount ?? 0;
  }

  /**
   * Newest first, keyset-paginated: pass the previous page's `next` as `after`. Rows stored
   * while paging never shift later pages, so pages have no gaps and no duplicates.
   */
  async findEvents(
    filter: EventFilter & { limit: number; after?: EventPosition | undefined },
  ): Promise<{ items: StoredEvent[]; next: EventPosition | undefined }> {
    const result = await this.#db.query<EventDbRow>(
      `SELECT ${EVENT_COLUMNS}
       FROM webhook_events
       WHERE ($1::text IS NULL OR source = $1)
         AND ($2::text IS NULL OR type = $2)
         AND ($3::timestamptz IS NULL OR created_at >= $3)
         AND ($4::timestamptz IS NULL OR created_at < $4)
         AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))
         AND ($8::jsonb IS NULL OR data @> $8::jsonb)
         AND ($9::text IS NULL OR event_id = $9)
       ORDER BY created_at DESC, id DESC
       LIMIT $7`,
      [
        filter.source ?? null,
        filter.type ?? null,
        filter.from ?? null,
        filter.to ?? null,
        filter.after?.createdAt ?? null,
        filter.after?.id ?? null,
        filter.limit + 1,
        filter.contains ?? null,
        filter.eventId ?? null,
      ],
    );
    const items = result.rows.slice(0, filter.limit).map(toStoredEvent);
    const last = items.at(-1);
    const more = result.rows.length > filter.limit && last !== undefined;
    return { items, next: more ? { createdAt: last.createdAt, id: last.id } : undefined };
  }

  /** The row with this uuid, or undefined. */
  async findById(id: string): Promise<StoredEvent | undefined> {
    const result = await this.#db.query<EventDbRow>(
      `SELECT ${EVENT_COLUMNS} FROM webhook_events WHERE id = $1`,
      [id],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toStoredEvent(row);
  }

  /**
   * The row's `data` as the text PostgreSQL gives for it, or undefined: what the console shows,
   * so no number loses a digit on the way through JavaScript.
   */
  async findDataText(id: string): Promise<string | undefined> {
    const result = await this.#db.query<{ data: string }>(
      'SELECT data::text AS data FROM webhook_events WHERE id = $1',
      [id],
    );
    return result.rows[0]?.data;
  }

  /** Rows stored in [from, to), counted by source and type, largest first. */
  async countBySourceAndType(window: { from: string; to: string }): Promise<SourceTypeCount[]> {
    const result = await this.#db.query<SourceTypeCount>(
      `SELECT source, type, count(*)::int AS count
       FROM webhook_events
       WHERE created_at >= $1 AND created_at < $2
       GROUP BY source, type
       ORDER BY count DESC, source, type
       LIMIT 10000`,
      [window.from, window.to],
    );
    return result.rows;
  }
}
