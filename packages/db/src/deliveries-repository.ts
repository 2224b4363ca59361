import type { Database } from './database.js';
import {
  type BackfillResult,
  type BackfillWindow,
  backfillDeliveries,
} from './delivery-backfill.js';
import { KeysetPages, type Page, type PageRequest } from './keyset-page.js';
import { SqlConditions } from './sql-conditions.js';
import { signingSecretsSql } from './subscriptions-repository.js';
import { utcText } from './utc-text.js';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** A delivery taken by one process to send now: everything one attempt needs. */
export interface ClaimedDelivery {
  id: string;
  subscriptionId: string;
  subscriptionName: string;
  url: string;
  timeoutMs: number;
  retryDelaysMs: number[];
  /** The current secret, then the previous one while it has not expired. */
  secrets: string[];
  /** `msg_` + the event row's uuid: the same for every attempt and subscription. */
  webhookId: string;
  /**
   * `{"id","source","type","timestamp","data"}` in that order, `data` as PostgreSQL writes the
   * stored jsonb (the text `GET /events/:id` shows): every number exactly as stored.
   */
  body: string;
  /** This attempt's number since the delivery was made or last replayed, from 1. */
  attempt: number;
  /** When the event was stored (ms since the epoch): the start of its latency. */
  storedAtMs: number;
}

/** What one attempt came to, and what follows from it. */
export interface AttemptRecord {
  deliveryId: string;
  attemptedAt: Date;
  durationMs: number;
  httpStatus?: number | undefined;
  error?: string | undefined;
  responseBody?: string | undefined;
  /** `pending` with `nextAttemptAt`, or final. */
  status: DeliveryStatus;
  nextAttemptAt?: Date | undefined;
}

/** A delivery as the API shows it. Times are RFC 3339 UTC with microseconds. */
export interface DeliverySummary {
  id: string;
  subscriptionId: string;
  /** The event row's uuid (`GET /events/:id`). */
  eventRowId: string;
  /** The event's own id and source. */
  eventId: string;
  source: string;
  type: string;
  webhookId: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastError: string | null;
  deliveredAt: string | null;
  /** When the event was stored. */
  storedAt: string;
}

export interface DeliveryAttempt {
  attemptedAt: string;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
  responseBody: string | null;
}

export interface Delivery extends DeliverySummary {
  attemptLog: DeliveryAttempt[];
}

export interface DeliveryFilter {
  subscriptionId?: string | undefined;
  status?: DeliveryStatus | undefined;
  /** The event's own id. */
  eventId?: string | undefined;
  /** Event stored at or after (RFC 3339). */
  from?: string | undefined;
  /** Event stored before (RFC 3339). */
  to?: string | undefined;
}

/** Which deliveries a replay sends again: these ids, or those of one subscription matching. */
export type DeliverySelection =
  | { ids: readonly string[] }
  | { filter: DeliveryFilter & { subscriptionId: string } };

/**
 * The active subscriptions with something due, locked for this claim (`NO KEY UPDATE` does not
 * block the key-share locks that storing takes on them). Another process claiming at the same
 * moment skips them: two claims never count one subscription's in-flight deliveries at once.
 *
 * "Something due" is the subscription's earliest pending delivery being due: one ordered index
 * probe per subscription, whatever the statistics say. As `EXISTS` the planner may turn it into
 * a join reading every due delivery of every subscription (a paused one's whole backlog, at
 * every poll), which it takes for small whenever its statistics predate the backlog.
 */
const LOCK_DUE_SUBSCRIPTIONS = `
  SELECT s.id FROM subscriptions s
  WHERE s.state = 'active'
    AND (SELECT d.next_attempt_at FROM deliveries d
      WHERE d.subscription_id = s.id AND d.status = 'pending'
      ORDER BY d.next_attempt_at LIMIT 1) <= now()
  FOR NO KEY UPDATE OF s SKIP LOCKED`;

/**
 * Takes up to each subscription's free slots (`max_in_flight` minus the deliveries leased and
 * not expired) of its due deliveries, oldest due first, and leases them for the
 * subscription's timeout plus a margin: a claim after the lease ends takes them again. Runs
 * after `LOCK_DUE_SUBSCRIPTIONS` in the same transaction, so it counts every lease that
 * another process committed before it got the lock.
 */
const CLAIM = `
  WITH subs AS (
    SELECT s.id, s.max_in_flight - (
      SELECT count(*) FROM deliveries d
      WHERE d.subscription_id = s.id AND d.status = 'pending'
        AND d.leased_until IS NOT NULL AND d.leased_until > now()
    ) AS free
    FROM subscriptions s WHERE s.id = ANY ($1::uuid[])
  ), picked AS (
    SELECT p.id FROM subs CROSS JOIN LATERAL (
      SELECT d.id FROM deliveries d
      WHERE d.subscription_id = subs.id AND d.status = 'pending' AND d.next_attempt_at <= now()
      ORDER BY d.next_attempt_at
      LIMIT greatest(least(subs.free, $2::int), 0)
      FOR UPDATE OF d SKIP LOCKED
    ) p
    LIMIT $2::int
  )
  UPDATE deliveries d SET
    attempts = d.attempts + 1,
    last_attempt_at = now(),
    leased_until = now() + make_interval(secs => (s.timeout_ms + $3::int) / 1000.0),
    next_attempt_at = now() + make_interval(secs => (s.timeout_ms + $3::int) / 1000.0)
  FROM picked, subscriptions s, webhook_events w
  WHERE d.id = picked.id AND s.id = d.subscription_id AND w.id = d.event_row_id
  RETURNING d.id, s.id AS "subscriptionId", s.name AS "subscriptionName", s.url,
    s.timeout_ms AS "timeoutMs", s.retry_delays_ms AS "retryDelaysMs",
    ${signingSecretsSql('s')} AS secrets,
    'msg_' || w.id AS "webhookId",
    '{"id":' || to_json(w.event_id::text) || ',"source":' || to_json(w.source::text)
      || ',"type":' || to_json(w.type::text) || ',"timestamp":"' || ${utcText('w."timestamp"')}
      || '","data":' || w.data::text || '}' AS body,
    d.attempts AS attempt,
    (extract(epoch FROM d.event_created_at) * 1000)::float8 AS "storedAtMs"`;

/**
 * Records attempts and their outcome, many in one statement. A delivery removed meanwhile (its
 * event expired) is skipped. Only a delivery still pending is changed: a replay or another
 * process's outcome is not overwritten by a late one.
 *
 * The deliveries are found by primary key (`d.id = ANY ($1)`), and `'pending'` reaches the
 * comparison through `r` rather than as a constant: `status = 'pending'` would let the planner
 * read the partial index of every pending delivery instead (a dead destination's whole
 * backlog, at every record), which it takes for small whenever its statistics predate the
 * backlog. `r` is materialized, so the value stays opaque to it.
 */
const RECORD_ATTEMPTS = `
  WITH r AS MATERIALIZED (
    SELECT r.*, 'pending' AS pending FROM unnest($1::uuid[], $2::timestamptz[], $3::int[],
      $4::int[], $5::text[], $6::text[], $7::text[], $8::timestamptz[])
      AS r(id, attempted_at, duration_ms, http_status, error, response_body, status, next_at)
  ), logged AS (
    INSERT INTO delivery_attempts (delivery_id, subscription_id, attempted_at, http_status,
      error, duration_ms, response_body)
    SELECT r.id, d.subscription_id, r.attempted_at, r.http_status, r.error, r.duration_ms,
      r.response_body
    FROM r JOIN deliveries d ON d.id = r.id
  )
  UPDATE deliveries d SET
    status = r.status,
    leased_until = NULL,
    next_attempt_at = coalesce(r.next_at, d.next_attempt_at),
    last_error = CASE WHEN r.status = 'delivered' THEN NULL
      ELSE coalesce(r.error, 'HTTP ' || r.http_status) END,
    delivered_at = CASE WHEN r.status = 'delivered' THEN r.attempted_at ELSE d.delivered_at END
  FROM r WHERE d.id = ANY ($1::uuid[]) AND d.id = r.id AND d.status = r.pending`;

/** Hands back leases not used (a stop that cut attempts short): due again at once. */
const RELEASE = `
  UPDATE deliveries SET leased_until = NULL, next_attempt_at = now(),
    attempts = greatest(attempts - 1, 0)
  WHERE id = ANY ($1::uuid[]) AND status = 'pending'`;

const SUMMARY_COLUMNS = `
  d.id, d.subscription_id AS "subscriptionId", d.event_row_id AS "eventRowId",
  w.event_id AS "eventId", w.source, w.type, 'msg_' || w.id AS "webhookId",
  d.status, d.attempts,
  CASE WHEN d.status = 'pending' THEN ${utcText('d.next_attempt_at')} END AS "nextAttemptAt",
  ${utcText('d.last_attempt_at')} AS "lastAttemptAt",
  d.last_error AS "lastError",
  ${utcText('d.delivered_at')} AS "deliveredAt",
  ${utcText('d.event_created_at')} AS "storedAt"`;

const DELIVERY_PAGES = new KeysetPages<DeliverySummary>({
  from: 'deliveries d JOIN webhook_events w ON w.id = d.event_row_id',
  columns: SUMMARY_COLUMNS,
  time: ['d.event_created_at', 'storedAt'],
});

function filterConditions(filter: DeliveryFilter): SqlConditions {
  return new SqlConditions()
    .optional(filter.subscriptionId, 'uuid', (id) => `d.subscription_id = ${id}`)
    .equal({ 'd.status': filter.status, 'w.event_id': filter.eventId })
    .between('d.event_created_at', filter);
}

function selectionConditions(selection: DeliverySelection): SqlConditions {
  if (!('ids' in selection)) return filterConditions(selection.filter);
  const where = new SqlConditions();
  return where.add(`d.id = ANY (${where.parameter(selection.ids, 'uuid[]')})`);
}

/**
 * `deliveries` and `delivery_attempts`: made by storing (see `EventsRepository.insertBatch`),
 * claimed and recorded by the senders, searched and replayed through the ops API.
 */
export class DeliveriesRepository {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * Leases up to `limit` due deliveries of the active subscriptions, within each one's free
   * in-flight slots across every process. A lease lasts the subscription's timeout plus
   * `leaseMarginMs`; a process that dies leaves its leases to expire, and they are claimed
   * again. Throws a classified `DatabaseError`.
   */
  async claimDue(options: { limit: number; leaseMarginMs: number }): Promise<ClaimedDelivery[]> {
    if (options.limit <= 0) return [];
    return this.#db.transaction(async (query) => {
      const due = await query<{ id: string }>(LOCK_DUE_SUBSCRIPTIONS);
      if (due.rows.length === 0) return [];
      const claimed = await query<ClaimedDelivery>(CLAIM, [
        due.rows.map((r) => r.id),
        options.limit,
        options.leaseMarginMs,
      ]);
      return claimed.rows;
    });
  }

  /** Records attempts and what follows from each, in one statement. */
  async recordAttempts(records: readonly AttemptRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.#db.query(RECORD_ATTEMPTS, [
      records.map((r) => r.deliveryId),
      records.map((r) => r.attemptedAt),
      records.map((r) => r.durationMs),
      records.map((r) => r.httpStatus ?? null),
      records.map((r) => r.error ?? null),
      records.map((r) => r.responseBody ?? null),
      records.map((r) => r.status),
      records.map((r) => r.nextAttemptAt ?? null),
    ]);
  }

  /** Gives back leases of deliveries not attempted after all: due again at once. */
  async release(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#db.query(RELEASE, [ids]);
  }

  /** Newest stored event first, keyset-paginated: pass the previous page's `next`. */
  find(filter: DeliveryFilter & PageRequest): Promise<Page<DeliverySummary>> {
    return DELIVERY_PAGES.newestFirst(this.#db, filterConditions(filter), filter);
  }

  /** The delivery with this uuid and all its attempts, oldest first; or undefined. */
  async findById(id: string): Promise<Delivery | undefined> {
    const result = await this.#db.query<DeliverySummary>(
      `SELECT ${SUMMARY_COLUMNS}
       FROM deliveries d JOIN webhook_events w ON w.id = d.event_row_id
       WHERE d.id = $1`,
      [id],
    );
    const summary = result.rows[0];
    if (summary === undefined) return undefined;
    const attempts = await this.#db.query<DeliveryAttempt>(
      `SELECT ${utcText('attempted_at')} AS "attemptedAt", http_status AS "httpStatus", error,
         duration_ms AS "durationMs", response_body AS "responseBody"
       FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id`,
      [id],
    );
    return { ...summary, attemptLog: attempts.rows };
  }

  /**
   * Sends the selected deliveries again: pending, due now, at the start of their retry
   * schedule; their attempts so far stay. A delivery being sent right now is left alone (its
   * outcome follows). With `dryRun`, only counts. Returns how many matched and were queued.
   */
  async replay(
    selection: DeliverySelection,
    options: { dryRun: boolean },
  ): Promise<{ matched: number; queued: number }> {
    const where = selectionConditions(selection);
    const values = where.values;
    const matched = `SELECT d.id, d.status, d.leased_until
      FROM deliveries d JOIN webhook_events w ON w.id = d.event_row_id WHERE ${where.sql}`;
    if (options.dryRun) {
      const result = await this.#db.query<{ matched: number }>(
        `SELECT count(*)::int AS matched FROM (${matched}) m`,
        values,
      );
      return { matched: result.rows[0]?.matched ?? 0, queued: 0 };
    }
    const result = await this.#db.query<{ matched: number; queued: number }>(
      `WITH m AS (${matched}),
       q AS (
         UPDATE deliveries d SET status = 'pending', attempts = 0, next_attempt_at = now(),
           leased_until = NULL
         FROM m
         WHERE d.id = m.id AND NOT (m.status = 'pending' AND m.leased_until > now())
         RETURNING 1)
       SELECT (SELECT count(*) FROM m)::int AS matched, (SELECT count(*) FROM q)::int AS queued`,
      values,
    );
    return { matched: result.rows[0]?.matched ?? 0, queued: result.rows[0]?.queued ?? 0 };
  }

  /**
   * Makes deliveries of the subscription for the stored events of `window` that match its
   * filter, events stored before it was created included; an event it has a delivery for
   * already is left as it is. Works page by page (`pageSize` events each, default 5000). With
   * `dryRun`, only counts. See `backfillDeliveries`.
   */
  backfill(
    subscriptionId: string,
    window: BackfillWindow,
    options: { dryRun: boolean; pageSize?: number | undefined },
  ): Promise<BackfillResult> {
    return backfillDeliveries(this.#db, subscriptionId, window, options);
  }

  /** Pending deliveries per subscription name (for `/metrics`). */
  async pendingBySubscription(): Promise<Map<string, number>> {
    const result = await this.#db.query<{ name: string; pending: number }>(
      `SELECT s.name, count(d.id)::int AS pending
       FROM subscriptions s LEFT JOIN deliveries d
         ON d.subscription_id = s.id AND d.status = 'pending'
       GROUP BY s.name`,
    );
    return new Map(result.rows.map((r) => [r.name, r.pending]));
  }
}
