import type { Database } from './database.js';

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

/** Where a page ends: the last row's position in (received_at DESC, id DESC) order. */
export interface RejectedPosition {
  receivedAt: string;
  id: string;
}

export interface RejectedFilter {
  source?: string | undefined;
  reason?: string | undefined;
  /** Received at or after (RFC 3339). */
  from?: string | undefined;
  /** Received before (RFC 3339). */
  to?: string | undefined;
}

const UTC_MICROS = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;
const COLUMNS = `
  id, source, reason, detail, request_id, headers, body,
  to_char(received_at AT TIME ZONE 'UTC', ${UTC_MICROS}) AS received_at,
  to_char(created_at AT TIME ZONE 'UTC', ${UTC_MICROS}) AS created_at,
  to_char(admitted_at AT TIME ZONE 'UTC', ${UTC_MICROS}) AS admitted_at,
  admitted_event_id`;

interface RejectedDbRow {
  id: string;
  source: string;
  reason: string;
  detail: string | null;
  request_id: string | null;
  headers: Record<string, string | string[]>;
  body: Buffer;
  received_at: string;
  created_at: string;
  admitted_at: string | null;
  admitted_event_id: string | null;
}

function toStored(row: RejectedDbRow): StoredRejectedRequest {
  return {
    id: row.id,
    source: row.source,
    reason: row.reason,
    detail: row.detail,
    receivedAt: row.received_at,
    requestId: row.request_id,
    headers: row.headers,
    body: row.body,
    createdAt: row.created_at,
    admittedAt: row.admitted_at,
    admittedEventId: row.admitted_event_id,
  };
}

/** The quarantine's table, `rejected_requests`. Every method throws a classified `DatabaseError`. */
export class RejectedRequestsRepository {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Stores one kept request; returns false when its id was already stored (a redelivery). */
  async insert(row: RejectedRequestRow): Promise<boolean> {
    const result = await this.#db.query(
      `INSERT INTO rejected_requests
         (id, source, reason, detail, received_at, request_id, headers, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)
       ON CONFLICT (id) DO NOTHING`,
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
    return (result.rowCount ?? 0) === 1;
  }

  /** Newest first, keyset-paginated like the events: pass the previous page's `next` as `after`. */
  async find(
    filter: RejectedFilter & { limit: number; after?: RejectedPosition | undefined },
  ): Promise<{ items: StoredRejectedRequest[]; next: RejectedPosition | undefined }> {
    const result = await this.#db.query<RejectedDbRow>(
      `SELECT ${COLUMNS}
       FROM rejected_requests
       WHERE ($1::text IS NULL OR source = $1)
         AND ($2::text IS NULL OR reason = $2)
         AND ($3::timestamptz IS NULL OR received_at >= $3)
         AND ($4::timestamptz IS NULL OR received_at < $4)
         AND ($5::timestamptz IS NULL OR (received_at, id) < ($5, $6::uuid))
       ORDER BY received_at DESC, id DESC
       LIMIT $7`,
      [
        filter.source ?? null,
        filter.reason ?? null,
        filter.from ?? null,
        filter.to ?? null,
        filter.after?.receivedAt ?? null,
        filter.after?.id ?? null,
        filter.limit + 1,
      ],
    );
    const items = result.rows.slice(0, filter.limit).map(toStored);
    const last = items.at(-1);
    const more = result.rows.length > filter.limit && last !== undefined;
    return { items, next: more ? { receivedAt: last.receivedAt, id: last.id } : undefined };
  }

  /** The kept request with this uuid, body included, or undefined. */
  async findById(id: string): Promise<StoredRejectedRequest | undefined> {
    const result = await this.#db.query<RejectedDbRow>(
      `SELECT ${COLUMNS} FROM rejected_requests WHERE id = $1`,
      [id],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : toStored(row);
  }

  /**
   * Not yet admitted requests, oldest first, `limit` at a time after `after` (the last one of
   * the previous page), for `pnpm rejected:replay`.
   */
  async findNotAdmitted(options: {
    source?: string | undefined;
    /** Received at or after (RFC 3339). */
    since?: string | undefined;
    after?: RejectedPosition | undefined;
    limit: number;
  }): Promise<StoredRejectedRequest[]> {
    const result = await this.#db.query<RejectedDbRow>(
      `SELECT ${COLUMNS}
       FROM rejected_requests
       WHERE admitted_at IS NULL
         AND ($1::text IS NULL OR source = $1)
         AND ($2::timestamptz IS NULL OR received_at >= $2)
         AND ($3::timestamptz IS NULL OR (received_at, id) > ($3, $4::uuid))
       ORDER BY received_at, id
       LIMIT $5`,
      [
        options.source ?? null,
        options.since ?? null,
        options.after?.receivedAt ?? null,
        options.after?.id ?? null,
        options.limit,
      ],
    );
    return result.rows.map(toStored);
  }

  /** Records that the request verified and was published as event `eventId`. */
  async markAdmitted(id: string, eventId: string): Promise<void> {
    await this.#db.query(
      `UPDATE rejected_requests SET admitted_at = now(), admitted_event_id = $2
       WHERE id = $1 AND admitted_at IS NULL`,
      [id, eventId],
    );
  }

  /**
   * Removes up to `limit` of the oldest requests received before `receivedBefore`, in one
   * short statement, and returns how many; fewer than `limit` means none are left.
   */
  async deleteReceivedBefore(receivedBefore: Date, limit: number): Promise<number> {
    const result = await this.#db.query(
      `DELETE FROM rejected_requests
       WHERE id = ANY (ARRAY(
         SELECT id FROM rejected_requests
         WHERE received_at < $1
         ORDER BY received_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED))`,
      [receivedBefore, limit],
    );
    return result.rowCount ?? 0;
  }
}
