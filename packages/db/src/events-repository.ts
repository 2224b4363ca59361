import { stringifyExactJson } from '@webhooks/contracts';
import type pg from 'pg';
import { DailyPartitions, isNoPartition, type TablePartition } from './daily-partitions.js';
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
  /**
   * `data` as exact JSON (`stringifyExactJson`), when the caller has it already and needs it
   * again (the consumer publishes it to the events exchange too); made from `data` otherwise.
   */
  dataJson?: string | undefined;
  /** RFC 3339. */
  timestamp: string;
  /** The ingest API's `x-request-id` of the request that brought it. */
  requestId?: string | undefined;
}

/**
 * The deliveries of the rows `inserted`, and the statement's result (with INSERT_EVENTS).
 *
 * Order per key: a delivery for a subscription with an ordering key, of an event that has the
 * key, takes the key's next position (`orderPositionsSql`: positions follow the commit order of
 * the storing transactions, and the batch's order within one). Only the key's head is due now.
 */
const QUEUE_DELIVERIES = `matched AS MATERIALIZED (
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
 * QUEUE_DELIVERIES for a database not migrated yet (see INSERT_EVENTS_UNPARTITIONED): the
 * earlier layout has no ordering keys, so every delivery is due at once.
 */
const QUEUE_DELIVERIES_UNORDERED = `queued AS (
    INSERT INTO deliveries (subscription_id, event_row_id, event_created_at)
    SELECT s.id, i.id, i.created_at
    FROM inserted i
    JOIN subscriptions s ON ${subscriptionMatchesSql('s', 'i')}
    FOR KEY SHARE OF s
    RETURNING 1
  )
  SELECT id, event_id AS "eventId", source, type, ${utcText('"timestamp"')} AS "timestamp",
    (SELECT count(*) FROM queued)::int AS "deliveriesQueued"
  FROM inserted`;

/**
 * Stores a batch in one statement. Rows whose (source, event_id) is already stored, in the
 * table or earlier in the same batch, are skipped: redeliveries and retries insert nothing.
 * The rows are passed as seven parameters whatever the batch size, so the statement text and
 * plan stay the same. `data` travels as one JSON array, each event's JSON text joined as is:
 * as a `text[]` literal every quote of every event would be escaped, and the driver's escaping
 * takes about eleven times the text's size in memory (200 MB for a 16 MiB batch).
 *
 * Deduplication is by `webhook_event_keys`, whose primary key is (source, event_id): the
 * events table is partitioned by day, and a unique index there could only hold within a day.
 * A key is written first; only the rows whose key was new are stored, with the id the key
 * names (a UUID v7 of the time they are stored, which is their `created_at`).
 *
 * The same statement makes a delivery for every subscription whose filter each new row
 * matches: an event is stored with its deliveries or not at all, so a crash can never leave a
 * stored event that nobody will be sent, and a redelivered message (skipped) makes none.
 */
const INSERT_EVENTS = `
  WITH input AS MATERIALIZED (
    SELECT e.n, e.event_id, e.source, e.type, d.data, e.ts, e.request_id,
      uuid_v7(t.at) AS id, t.at
    FROM unnest($1::text[], $2::text[], $3::text[], $5::timestamptz[], $6::text[])
      WITH ORDINALITY AS e(event_id, source, type, ts, request_id, n)
    JOIN jsonb_array_elements($4::jsonb) WITH ORDINALITY AS d(data, n) USING (n)
    CROSS JOIN (SELECT coalesce($7::timestamptz, now()) AS at) t
  ), keys AS (
    INSERT INTO webhook_event_keys (source, event_id, event_row_id, created_at)
    SELECT source, event_id, id, at FROM input ORDER BY n
    ON CONFLICT (source, event_id) DO NOTHING
    RETURNING event_row_id
  ), inserted AS (
    INSERT INTO webhook_events (id, event_id, source, type, data, "timestamp", created_at, request_id)
    SELECT i.id, i.event_id, i.source, i.type, i.data, i.ts, i.at, i.request_id
    FROM input i JOIN keys k ON k.event_row_id = i.id
    ORDER BY i.n
    RETURNING id, event_id, source, type, "timestamp", created_at
  ), ${QUEUE_DELIVERIES}`;

/**
 * INSERT_EVENTS for a database not migrated to partitions yet: one table, unique on (source,
 * event_id), no request id. Used only while a database is being upgraded under a running
 * consumer (see `insertBatch`).
 */
const INSERT_EVENTS_UNPARTITIONED = `
  WITH inserted AS (
    INSERT INTO webhook_events (event_id, source, type, data, "timestamp")
    SELECT e.event_id, e.source, e.type, d.data, e.ts
    FROM unnest($1::text[], $2::text[], $3::text[], $5::timestamptz[])
      WITH ORDINALITY AS e(event_id, source, type, ts, n)
    JOIN jsonb_array_elements($4::jsonb) WITH ORDINALITY AS d(data, n) USING (n)
    ON CONFLICT (source, event_id) DO NOTHING
    RETURNING id, event_id, source, type, "timestamp", created_at
  ), ${QUEUE_DELIVERIES_UNORDERED}`;

/**
 * The stored rows of these (source, event id) keys, for events found already stored, with
 * their data as stored: a repeat of an event may carry other data than the stored one. The
 * key gives the row's id and created_at, so each is found in its own partition.
 */
const FIND_STORED = `
  SELECT w.id, w.event_id AS "eventId", w.source, w.type,
    ${utcText('w."timestamp"')} AS "timestamp", w.data::text AS "dataJson"
  FROM unnest($1::text[], $2::text[]) AS q(source, event_id)
  JOIN webhook_event_keys k USING (source, event_id)
  JOIN webhook_events w ON w.id = k.event_row_id AND w.created_at = k.created_at`;

/** FIND_STORED for a database not migrated to partitions yet (see INSERT_EVENTS_UNPARTITIONED). */
const FIND_STORED_UNPARTITIONED = `
  SELECT w.id, w.event_id AS "eventId", w.source, w.type,
    ${utcText('w."timestamp"')} AS "timestamp", w.data::text AS "dataJson"
  FROM unnest($1::text[], $2::text[]) AS k(source, event_id)
  JOIN webhook_events w USING (source, event_id)`;

/**
 * SQLSTATEs of a statement written for the other layout: the new one on a database not yet
 * migrated (no keys table, uuid_v7 or request_id), or the old one on a migrated database (no
 * unique index for its ON CONFLICT).
 */
const OTHER_LAYOUT = new Set(['42P01', '42883', '42703', '42P10']);

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
  /** The ingest API's `x-request-id` of the request that brought it, when known. */
  requestId: string | null;
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
  ${utcText('created_at')} AS "createdAt", request_id AS "requestId"`;

const EVENT_PAGES = new KeysetPages<StoredEvent>({
  from: 'webhook_events',
  columns: EVENT_COLUMNS,
  time: ['created_at', 'createdAt'],
});

/** A partition of `webhook_events`: it holds the events stored in [from, to). */
export type EventPartition = TablePartition;

export interface EventsRepositoryOptions {
  /**
   * The time events are stored at (their `created_at`, and so their partition). Default: the
   * database's `now()`, the start of the storing transaction.
   */
  storedAt?: (() => Date) | undefined;
}

export class EventsRepository {
  readonly #db: Pick<Database, 'query'>;
  readonly #storedAt: (() => Date) | undefined;
  readonly #partitions: DailyPartitions;
  /** The database has not been migrated to partitioned events yet (see `#storing`). */
  #unpartitioned = false;

  /** On the pool, or on one transaction's connection (`Database.transaction`'s `query`). */
  constructor(db: Pick<Database, 'query'>, options: EventsRepositoryOptions = {}) {
    this.#db = db;
    this.#storedAt = options.storedAt;
    this.#partitions = new DailyPartitions(db, 'webhook_events');
  }

  /**
   * Stores the rows that are new and makes their deliveries; returns those rows (with their
   * uuid and the timestamp as stored) and how many deliveries were made. Throws a classified
   * `DatabaseError`. A row whose day has no partition (the consumer makes them days ahead, so
   * only when none ran for days) never fails for it: the day's partition is made and the
   * statement run again.
   */
  async insertBatch(rows: readonly EventRow[]): Promise<InsertedBatch> {
    if (rows.length === 0) return { inserted: 0, stored: [], deliveriesQueued: 0 };
    const storedAt = this.#storedAt?.();
    const parameters = [
      rows.map((r) => r.eventId),
      rows.map((r) => r.source),
      rows.map((r) => r.type),
      `[${rows.map((r) => r.dataJson ?? stringifyExactJson(r.data)).join(',')}]`,
      rows.map((r) => r.timestamp),
      rows.map((r) => r.requestId ?? null),
      storedAt ?? null,
    ];
    const result = await this.#storing(parameters, storedAt);
    const stored = result.rows.map(({ deliveriesQueued: _, ...key }) => key);
    return {
      inserted: stored.length,
      stored,
      deliveriesQueued: result.rows[0]?.deliveriesQueued ?? 0,
    };
  }

  /**
   * Runs the insert for the layout the database has. While a database is upgraded under a
   * running consumer, the statement of the other layout is tried when one fails for it: the
   * old one until the migration commits, the new one once it has (a statement waiting for
   * the migration's lock sees the new layout when it gets it).
   */
  async #storing(
    parameters: unknown[],
    storedAt: Date | undefined,
  ): Promise<pg.QueryResult<StoredKey & { deliveriesQueued: number }>> {
    for (let tries = 1; ; tries++) {
      const unpartitioned = this.#unpartitioned;
      try {
        return await this.#db.query<StoredKey & { deliveriesQueued: number }>(
          unpartitioned ? INSERT_EVENTS_UNPARTITIONED : INSERT_EVENTS,
          unpartitioned ? parameters.slice(0, 5) : parameters,
        );
      } catch (err) {
        if (tries >= 4) throw err;
        if (!unpartitioned && isNoPartition(err)) {
          await this.createPartitions(storedAt, 2);
        } else if (OTHER_LAYOUT.has((err as { code?: string }).code ?? '')) {
          this.#unpartitioned = !unpartitioned;
        } else {
          throw err;
        }
      }
    }
  }

  /**
   * Makes sure the `days` UTC days from the day of `from` (default: the database's today)
   * have partitions; returns how many it made. Days covered by a partition already (made
   * before, or attached by hand) are left as they are. Throws a classified `DatabaseError`.
   */
  createPartitions(from: Date | undefined, days: number): Promise<number> {
    return this.#partitions.create(from, days);
  }

  /**
   * The rows stored under these (source, event id) keys, with their data; keys not stored are
   * left out.
   */
  async findStored(
    keys: readonly { source: string; eventId: string }[],
  ): Promise<StoredKeyWithData[]> {
    if (keys.length === 0) return [];
    const parameters = [keys.map((k) => k.source), keys.map((k) => k.eventId)];
    const find = () =>
      this.#db.query<StoredKeyWithData>(
        this.#unpartitioned ? FIND_STORED_UNPARTITIONED : FIND_STORED,
        parameters,
      );
    const result = await find().catch((err: unknown) => {
      if (!OTHER_LAYOUT.has((err as { code?: string }).code ?? '')) throw err;
      this.#unpartitioned = !this.#unpartitioned;
      return find();
    });
    return result.rows;
  }

  /**
   * The partitions of `webhook_events`, oldest first, by their bounds (never by their names:
   * one attached by hand is listed like the others). `detaching`: a detach was interrupted
   * (`DETACH ... CONCURRENTLY` stopped half-way); dropping it finishes that.
   */
  partitions(): Promise<EventPartition[]> {
    return this.#partitions.list();
  }

  /**
   * Removes one partition and every event in it: first the deliveries of its events (and
   * their attempts), `batchSize` per statement, then the partition itself, detached
   * concurrently (inserts and queries of the other partitions never wait for it) and dropped.
   * Returns how many deliveries went, and whether this call dropped it (`false`: another
   * retention run had it). Throws a classified `DatabaseError`; run again, it
   * carries on where it stopped.
   */
  async dropPartition(
    partition: EventPartition,
    batchSize: number,
  ): Promise<{ deliveries: number; dropped: boolean }> {
    let deliveries = 0;
    for (;;) {
      const result = await this.#db.query(
        `DELETE FROM deliveries WHERE id = ANY (ARRAY(
           SELECT id FROM deliveries
           WHERE event_created_at >= coalesce($1::timestamptz, '-infinity')
             AND event_created_at < coalesce($2::timestamptz, 'infinity')
           LIMIT $3
           FOR UPDATE SKIP LOCKED))`,
        [partition.from, partition.to, batchSize],
      );
      deliveries += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < batchSize) break;
    }
    // Left to another run (another consumer) when it had the partition.
    const dropped = await this.#partitions.detachAndDrop(partition);
    return { deliveries, dropped };
  }

  /**
   * Vacuums (and analyzes) each partition whose day is over and that was not vacuumed since;
   * returns their names. A day's partition is written only during its day, so this happens
   * once per partition: it empties the pending list of its `contains` index (GIN), which
   * otherwise every `contains` query reads through, and sets its visibility map and
   * statistics. VACUUM waits for no insert or query.
   */
  vacuumClosedPartitions(): Promise<string[]> {
    return this.#partitions.vacuumClosed();
  }

  /**
   * Builds, concurrently, the indexes a partition lacks (after an upgrade, on the table that
   * was there before) and returns their names; see `DailyPartitions.completeIndexes`.
   */
  completePartitionIndexes(): Promise<string[]> {
    return this.#partitions.completeIndexes();
  }

  /**
   * Removes up to `limit` of the oldest dedup keys of events stored before `storedBefore` and
   * returns how many it removed; fewer than `limit` means none are left. Only for keys whose
   * events are gone: until then a key is what keeps its event from being stored twice.
   */
  async deleteKeysBefore(storedBefore: Date, limit: number): Promise<number> {
    const result = await this.#db.query(
      `DELETE FROM webhook_event_keys WHERE ctid = ANY (ARRAY(
         SELECT ctid FROM webhook_event_keys
         WHERE created_at < $1
         ORDER BY created_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED))`,
      [storedBefore, limit],
    );
    return result.rowCount ?? 0;
  }

  /**
   * Newest first, keyset-paginated: pass the previous page's `next` as `after`. A source with
   * an event id (the console's link from a dead letter) reads the key first: only the one
   * partition holding that event is read.
   */
  findEvents(filter: EventFilter & PageRequest): Promise<Page<StoredEvent>> {
    const where = new SqlConditions()
      .equal({ source: filter.source, type: filter.type, event_id: filter.eventId })
      .between('created_at', filter)
      .optional(filter.contains, 'jsonb', (object) => `data @> ${object}`);
    if (filter.source !== undefined && filter.eventId !== undefined) {
      const source = where.parameter(filter.source, 'text');
      const eventId = where.parameter(filter.eventId, 'text');
      where.add(
        `created_at = (SELECT k.created_at FROM webhook_event_keys k
           WHERE k.source = ${source} AND k.event_id = ${eventId})`,
      );
    }
    return EVENT_PAGES.newestFirst(this.#db, where, filter);
  }

  /** The row with this uuid, or undefined. */
  findById(id: string): Promise<StoredEvent | undefined> {
    return this.#findOne<StoredEvent>(EVENT_COLUMNS, id);
  }

  /**
   * The row's `data` as the text PostgreSQL gives for it, or undefined: what the console shows,
   * so no number loses a digit on the way through JavaScript.
   */
  async findDataText(id: string): Promise<string | undefined> {
    return (await this.#findOne<{ data: string }>('data::text AS data', id))?.data;
  }

  /**
   * One row by id. A UUID v7 (every id made since events are partitioned) holds the
   * millisecond its row was stored at: only that instant's partition is read. Older ids, and
   * rows whose created_at was changed by hand, are looked for in every partition.
   */
  async #findOne<T extends pg.QueryResultRow>(columns: string, id: string): Promise<T | undefined> {
    const storedMs = uuidV7Ms(id);
    if (storedMs !== undefined) {
      const result = await this.#db.query<T>(
        `SELECT ${columns} FROM webhook_events
         WHERE id = $1 AND created_at >= $2 AND created_at < $3`,
        [id, new Date(storedMs), new Date(storedMs + 1)],
      );
      if (result.rows[0] !== undefined) return result.rows[0];
    }
    const result = await this.#db.query<T>(`SELECT ${columns} FROM webhook_events WHERE id = $1`, [
      id,
    ]);
    return result.rows[0];
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

/** The Unix milliseconds a UUID version 7 starts with; undefined for any other text. */
export function uuidV7Ms(id: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(id)) {
    return undefined;
  }
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
