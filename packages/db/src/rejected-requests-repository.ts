import { DailyPartitions, isNoPartition, type TablePartition } from './daily-partitions.js';
import type { Database } from './database.js';
import { KeysetPages, type Page, type PageRequest } from './keyset-page.js';
import { SqlConditions } from './sql-conditions.js';
import { utcText } from './utc-text.js';

/** One kept request, as the ingest API refused it. */
export interface RejectedRequestRow {
  id: string;
  source: string;
  reason: string;
  detail?: string | undefined;
  /** RFC 3339. */
  receivedAt: string;
  requestId?: string | undefined;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** A kept request as stored. Times are RFC 3339 UTC with microseconds. */
export interface StoredRejectedRequest {
  id: string;
  source: string;
  reason: string;
  detail: string | null;
  receivedAt: string;
  requestId: string | null;
  headers: Record<string, string | string[]>;
  body: Buffer;
  createdAt: string;
  admittedAt: string | null;
  admittedEventId: string | null;
}

export interface RejectedFilter {
  source?: string | undefined;
  reason?: string | undefined;
  /** Received at or after (RFC 3339). */
  from?: string | undefined;
  /** Received before (RFC 3339). */
  to?: string | undefined;
}

/** The select list of a `StoredRejectedRequest`. */
const COLUMNS = `
  id, source, reason, detail,
  ${utcText('received_at')} AS "receivedAt",
  request_id AS "requestId", headers, body,
  ${utcText('created_at')} AS "createdAt",
  ${utcText('admitted_at')} AS "admittedAt",
  admitted_event_id AS "admittedEventId"`;

const REJECTED_PAGES = new KeysetPages<StoredRejectedRequest>({
  from: 'rejected_requests',
  columns: COLUMNS,
  time: ['received_at', 'receivedAt'],
});

/** The quarantine's table, `rejected_requests`. Every method throws a classified `DatabaseError`. */
export class RejectedRequestsRepository {
  readonly #db: Database;
  readonly #partitions: DailyPartitions;

  constructor(db: Database) {
    this.#db = db;
    this.#partitions = new DailyPartitions(db, 'rejected_requests');
  }

  /**
   * Stores one kept request; returns false when its id was already stored (a redelivery,
   * which carries the same id and time of receipt). A day without a partition gets one.
   */
  async insert(row: RejectedRequestRow): Promise<boolean> {
    const result = await this.#insert(row).catch(async (err: unknown) => {
      if (!isNoPartition(err)) throw err;
      await this.createPartitions(new Date(row.receivedAt), 2);
      return this.#insert(row);
    });
    return (result.rowCount ?? 0) === 1;
  }

  #insert(row: RejectedRequestRow) {
    return this.#db.query(
      `INSERT INTO rejected_requests
         (id, source, reason, detail, received_at, request_id, headers, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)
       ON CONFLICT (id, received_at) DO NOTHING`,
      [
        row.id,
        row.source,
        row.reason,
        row.detail ?? null,
        row.receivedAt,
        row.requestId ?? null,
        JSON.stringify(row.headers),
        row.body,
      ],
    );
  }

  /** Newest first, keyset-paginated like the events: pass the previous page's `next` as `after`. */
  find(filter: RejectedFilter & PageRequest): Promise<Page<StoredRejectedRequest>> {
    const where = new SqlConditions()
      .equal({ source: filter.source, reason: filter.reason })
      .between('received_at', filter);
    return REJECTED_PAGES.newestFirst(this.#db, where, filter);
  }

  /** The kept request with this uuid, body included, or undefined. */
  async findById(id: string): Promise<StoredRejectedRequest | undefined> {
    const result = await this.#db.query<StoredRejectedRequest>(
      `SELECT ${COLUMNS} FROM rejected_requests WHERE id = $1`,
      [id],
    );
    return result.rows[0];
  }

  /**
   * Not yet admitted requests, oldest first, `limit` at a time: pass the previous page's `next`
   * as `after`. For `pnpm rejected:replay`.
   */
  findNotAdmitted(
    options: PageRequest & {
      source?: string | undefined;
      /** Received at or after (RFC 3339). */
      since?: string | undefined;
    },
  ): Promise<Page<StoredRejectedRequest>> {
    const where = new SqlConditions()
      .add('admitted_at IS NULL')
      .equal({ source: options.source })
      .between('received_at', { from: options.since });
    return REJECTED_PAGES.oldestFirst(this.#db, where, options);
  }

  /** Records that the request verified and was published as event `eventId`. */
  async markAdmitted(id: string, eventId: string): Promise<void> {
    await this.#db.query(
      `UPDATE rejected_requests SET admitted_at = now(), admitted_event_id = $2
       WHERE id = $1 AND admitted_at IS NULL`,
      [id, eventId],
    );
  }

  /** The partitions of `rejected_requests` (by day of `received_at`), oldest first. */
  partitions(): Promise<TablePartition[]> {
    return this.#partitions.list();
  }

  /** Makes the missing partitions of the `days` UTC days from `from`'s (default today's). */
  createPartitions(from: Date | undefined, days: number): Promise<number> {
    return this.#partitions.create(from, days);
  }

  /**
   * Removes one partition and the requests in it (detached concurrently, then dropped);
   * returns how many requests it held, and whether this call dropped it (`false`: another
   * retention run had it).
   */
  async dropPartition(partition: TablePartition): Promise<{ rows: number; dropped: boolean }> {
    const counted = await this.#db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM rejected_requests
       WHERE received_at >= coalesce($1::timestamptz, '-infinity')
         AND received_at < coalesce($2::timestamptz, 'infinity')`,
      [partition.from, partition.to],
    );
    const dropped = await this.#partitions.detachAndDrop(partition);
    return { rows: dropped ? (counted.rows[0]?.n ?? 0) : 0, dropped };
  }

  /**
   * Removes up to `limit` of the oldest kept requests beyond the newest `keep` and returns how
   * many it removed: the cap on the table's rows, whatever their age.
   */
  async deleteBeyondNewest(keep: number, limit: number): Promise<number> {
    const result = await this.#db.query(
      `DELETE FROM rejected_requests
       WHERE id = ANY (ARRAY(
         SELECT id FROM rejected_requests
         ORDER BY received_at DESC, id DESC
         OFFSET $1
         LIMIT $2
         FOR UPDATE SKIP LOCKED))`,
      [keep, limit],
    );
    return result.rowCount ?? 0;
  }
}
