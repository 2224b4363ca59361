import { stringifyExactJson } from '@webhooks/contracts';
import type { Database } from './database.js';
import { subscriptionMatchesSql } from './event-match-sql.js';
import { KeysetPages, type Page, type PageRequest } from './keyset-page.js';
import { firstAttemptAtSql, orderPositionsSql } from './order-positions-sql.js';
import { SqlConditions } from './sql-conditions.js';
import { utcText } from './utc-text.js';

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
 *
 * The same statement makes a delivery for every subscription whose filter each new row
 * matches: an event is stored with its deliveries or not at all, so a crash can never leave a
 * stored event that nobody will be sent, and a redelivered message (skipped) makes none.
 *
 * Order per key: a delivery for a subscription with an ordering key, of an event that has the
 * key, takes the key's next position (`orderPositionsSql`: positions follow the commit order of
 * the storing transactions, and the batch's order within one). Only the key's head is due now.
 */
const INSERT_EVENTS = `
  WITH inserted AS (
    INSERT INTO webhook_events (event_id, source, type, data, "timestamp")
    SELECT e.event_id, e.source, e.type, d.data, e.ts
    FROM unnest($1::text[], $2::text[], $3::text[], $5::timestamptz[])
      WITH ORDINALITY AS e(event_id, source, type, ts, n)
    JOIN jsonb_array_elements($4::jsonb) WITH ORDINALITY AS d(data, n) USING (n)
    ON CONFLICT (source, event_id) DO NOTHING
    RETURNING id, event_id, source, type, "timestamp", created_at
  ), matched AS MATERIALIZED (
    SELECT s.id AS subscription_id, s.ordering_key, i.id AS event_row_id, i.created_at,
      i.event_id, i.source, i.type
    FROM inserted i
    JOIN subscriptions s ON ${subscriptionMatchesSql('s', 'i')}
    -- A subscription deleted while this runs must not fail the insert (and the events with
    -- it) on the foreign key: the lock makes the delete wait, or the row is not seen.
    FOR KEY SHARE OF s
  ), keyed_events AS (
    -- The place of each event in the batch (a key repeated in it: its first, the one stored),
    -- and its data from the batch's array by that place (not returned by the insert: most
    -- subscriptions have no ordering key, and a batch's data can be megabytes).
    SELECT m.subscription_id, m.event_row_id, o.n AS place,
      event_order_key(m.ordering_key, m.event_id, m.source, m.type,
        $4::jsonb -> (o.n - 1)::int) AS order_key
    FROM matched m
    JOIN (SELECT o.source, o.event_id, min(o.n) AS n
      FROM unnest($2::text[], $1::text[]) WITH ORDINALITY AS o(source, event_id, n)
      GROUP BY o.source, o.event_id) o ON o.source = m.source AND o.event_id = m.event_id
    WHERE m.ordering_key IS NOT NULL
  ), ranked AS MATERIALIZED (
    SELECT e.subscription_id, e.event_row_id, e.order_key,
      row_number() OVER (PARTITION BY e.subscription_id, e.order_key ORDER BY e.place) AS k,
      count(*) OVER (PARTITION BY e.subscription_id, e.order_key) AS n
    FROM keyed_events e
    WHERE e.order_key IS NOT NULL
  ), ${orderPositionsSql('ranked')}, queued AS (
    INSERT INTO deliveries (subscription_id, event_row_id, event_created_at, order_key,
      order_seq, next_attempt_at)
    SELECT m.subscription_id, m.event_row_id, m.created_at, p.order_key, p.seq,
      ${firstAttemptAtSql('p')}
    FROM matched m LEFT JOIN positioned p USING (subscription_id, event_row_id)
    RETURNING 1
  )
  SELECT id, event_id AS "eventId", source, type, ${utcText('"timestamp"')} AS "timestamp",
    (SELECT count(*) FROM queued)::int AS "deliveriesQueued"
  FROM inserted`;

/**
 * The stored rows of these (source, event id) keys, for events found already stored, with
 * their data as stored: a repeat of an event may carry other data than the stored one.
 */
const FIND_STORED = `
  SELECT w.id, w.event_id AS "eventId", w.source, w.type,
    ${utcText('w."timestamp"')} AS "timestamp", w.data::text AS "dataJson"
  FROM unnest($1::text[], $2::text[]) AS k(source, event_id)
  JOIN webhook_events w USING (source, event_id)`;

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

/** A row just stored (or found stored): what a delivery or a publish of it needs besides data. */
export interface StoredKey {
  /** The row's uuid: `webhook-id` is `msg_` + it. */
  id: string;
  eventId: string;
  source: string;
  type: string;
  /** As stored: RFC 3339 UTC with microseconds. */
  timestamp: string;
}

/** A row found stored: its key, and `data` as JSON text whose numbers are exactly those stored. */
export interface StoredKeyWithData extends StoredKey {
  dataJson: string;
}

export interface InsertedBatch {
  /** Rows that were new (`stored.length`). */
  inserted: number;
  stored: StoredKey[];
  /** Deliveries made for them, one per matching subscription. */
  deliveriesQueued: number;
}

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

/** The select list of a `StoredEvent`. */
const EVENT_COLUMNS = `
  id, event_id AS "eventId", source, type, data::text AS "dataJson",
  ${utcText('"timestamp"')} AS "timestamp",
  ${utcText('created_at')} AS "createdAt"`;

const EVENT_PAGES = new KeysetPages<StoredEvent>({
  from: 'webhook_events',
  columns: EVENT_COLUMNS,
  time: ['created_at', 'createdAt'],
});

export class EventsRepository {
  readonly #db: Pick<Database, 'query'>;

  /** On the pool, or on one transaction's connection (`Database.transaction`'s `query`). */
  constructor(db: Pick<Database, 'query'>) {
    this.#db = db;
  }

  /**
   * Stores the rows that are new and makes their deliveries; returns those rows (with their
   * uuid and the timestamp as stored) and how many deliveries were made. Throws a classified
   * `DatabaseError`.
   */
  async insertBatch(rows: readonly EventRow[]): Promise<InsertedBatch> {
    if (rows.length === 0) return { inserted: 0, stored: [], deliveriesQueued: 0 };
    const result = await this.#db.query<StoredKey & { deliveriesQueued: number }>(INSERT_EVENTS, [
      rows.map((r) => r.eventId),
      rows.map((r) => r.source),
      rows.map((r) => r.type),
      `[${rows.map((r) => stringifyExactJson(r.data)).join(',')}]`,
      rows.map((r) => r.timestamp),
    ]);
    const stored = result.rows.map(({ deliveriesQueued: _, ...key }) => key);
    return {
      inserted: stored.length,
      stored,
      deliveriesQueued: result.rows[0]?.deliveriesQueued ?? 0,
    };
  }

  /**
   * The rows stored under these (source, event id) keys, with their data; keys not stored are
   * left out.
   */
  async findStored(
    keys: readonly { source: string; eventId: string }[],
  ): Promise<StoredKeyWithData[]> {
    if (keys.length === 0) return [];
    const result = await this.#db.query<StoredKeyWithData>(FIND_STORED, [
      keys.map((k) => k.source),
      keys.map((k) => k.eventId),
    ]);
    return result.rows;
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

  /** Newest first, keyset-paginated: pass the previous page's `next` as `after`. */
  findEvents(filter: EventFilter & PageRequest): Promise<Page<StoredEvent>> {
    const where = new SqlConditions()
      .equal({ source: filter.source, type: filter.type, event_id: filter.eventId })
      .between('created_at', filter)
      .optional(filter.contains, 'jsonb', (object) => `data @> ${object}`);
    return EVENT_PAGES.newestFirst(this.#db, where, filter);
  }

  /** The row with this uuid, or undefined. */
  async findById(id: string): Promise<StoredEvent | undefined> {
    const result = await this.#db.query<StoredEvent>(
      `SELECT ${EVENT_COLUMNS} FROM webhook_events WHERE id = $1`,
      [id],
    );
    return result.rows[0];
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
