import { randomUUID } from 'node:crypto';
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

/** A delivery leased to this process: its id and this attempt's number. */
export interface Lease {
  id: string;
  attempt: number;
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
  /** null when final, or when it waits for the delivery before it of its ordering key. */
  nextAttemptAt: string | null;
  /** Its ordering key's value (the subscription's `ordering.key`), or null: sent unordered. */
  orderKey: string | null;
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
 * Records the outcomes, then leases what is due (migrations/…_record-and-claim-deliveries.sql:
 * the lock on the due subscriptions, then a count of their leases in a fresh snapshot, in one
 * round trip). Returns the leased deliveries' ids and attempt numbers.
 */
const RECORD_AND_CLAIM = `
  SELECT delivery_id AS id, attempt FROM record_and_claim_deliveries($1::uuid[],
    $2::timestamptz[], $3::int[], $4::int[], $5::text[], $6::text[], $7::text[],
    $8::timestamptz[], $9::int, $10::int, $11::uuid[], $12::int[], $13::uuid)`;

/**
 * What one attempt of each leased delivery needs, read once the lease is committed (so the
 * event and subscription rows are those the claim saw, or newer).
 */
const LEASED_COLUMNS = `
  d.id, s.id AS "subscriptionId", s.name AS "subscriptionName", s.url,
  s.timeout_ms AS "timeoutMs", s.retry_delays_ms AS "retryDelaysMs",
  ${signingSecretsSql('s')} AS secrets,
  'msg_' || w.id AS "webhookId",
  '{"id":' || to_json(w.event_id::text) || ',"source":' || to_json(w.source::text)
    || ',"type":' || to_json(w.type::text) || ',"timestamp":"' || ${utcText('w."timestamp"')}
    || '","data":' || w.data::text || '}' AS body,
  (extract(epoch FROM d.event_created_at) * 1000)::float8 AS "storedAtMs"`;

const LEASED_FROM = `deliveries d
  JOIN subscriptions s ON s.id = d.subscription_id
  JOIN webhook_events w ON w.id = d.event_row_id AND w.created_at = d.event_created_at`;

const LEASED = `SELECT ${LEASED_COLUMNS} FROM ${LEASED_FROM} WHERE d.id = ANY ($1::uuid[])`;

/**
 * The deliveries still leased under these cycles' tokens (with their attempt numbers), for a
 * sender that lost the answer to those cycles. `deliveries_leased_idx` holds only the
 * deliveries in flight.
 */
const LEASED_BY_TOKEN = `
  SELECT ${LEASED_COLUMNS}, d.attempts AS attempt FROM ${LEASED_FROM}
  WHERE d.status = 'pending' AND d.leased_until IS NOT NULL AND d.leased_until > now()
    AND d.lease_token = ANY ($1::uuid[])`;

/** Hands back leases not used (a stop that cut attempts short): due again at once. */
const RELEASE = `
  UPDATE deliveries SET leased_until = NULL, next_attempt_at = now(),
    attempts = greatest(attempts - 1, 0)
  WHERE id = ANY ($1::uuid[]) AND status = 'pending'`;

const SUMMARY_COLUMNS = `
  d.id, d.subscription_id AS "subscriptionId", d.event_row_id AS "eventRowId",
  w.event_id AS "eventId", w.source, w.type, 'msg_' || w.id AS "webhookId",
  d.status, d.attempts,
  CASE WHEN d.status = 'pending' AND d.next_attempt_at <> 'infinity'
    THEN ${utcText('d.next_attempt_at')} END AS "nextAttemptAt",
  d.order_key AS "orderKey",
  ${utcText('d.last_attempt_at')} AS "lastAttemptAt",
  d.last_error AS "lastError",
  ${utcText('d.delivered_at')} AS "deliveredAt",
  ${utcText('d.event_created_at')} AS "storedAt"`;

const DELIVERY_PAGES = new KeysetPages<DeliverySummary>({
  from: 'deliveries d JOIN webhook_events w ON w.id = d.event_row_id AND w.created_at = d.event_created_at',
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
   * Records `records` (freeing their slots), then leases up to `limit` due deliveries of the
   * active subscriptions, within each one's free in-flight slots across every process and
   * within `caps` (this sender's own limit per subscription id: 0 skips it, 1 takes a single
   * probe), in one round trip. A lease lasts the subscription's timeout plus `leaseMarginMs`;
   * a process that dies leaves its leases to expire, and they are claimed again. Returns the
   * leases, for `leased` to read. Throws a classified `DatabaseError`: then nothing was
   * recorded (try the records again).
   */
  async recordAndLease(
    records: readonly AttemptRecord[],
    options: {
      limit: number;
      leaseMarginMs: number;
      caps?: ReadonlyMap<string, number>;
      /** Stamped on what this call leases (`leasedBy`); a new one for every call. */
      leaseToken?: string;
    },
  ): Promise<Lease[]> {
    const limit = Math.max(0, options.limit);
    if (records.length === 0 && limit === 0) return [];
    const caps = options.caps ?? new Map<string, number>();
    const result = await this.#db.query<Lease>(RECORD_AND_CLAIM, [
      records.map((r) => r.deliveryId),
      records.map((r) => r.attemptedAt),
      records.map((r) => r.durationMs),
      records.map((r) => r.httpStatus ?? null),
      records.map((r) => r.error ?? null),
      records.map((r) => r.responseBody ?? null),
      records.map((r) => r.status),
      records.map((r) => r.nextAttemptAt ?? null),
      limit,
      options.leaseMarginMs,
      [...caps.keys()],
      [...caps.values()],
      options.leaseToken ?? randomUUID(),
    ]);
    return result.rows;
  }

  /**
   * What one attempt of each leased delivery needs. A delivery whose event left meanwhile
   * (retention) is gone with it: nothing to send. Throws a classified `DatabaseError`: the
   * leases stand, so read them again (before they end).
   */
  async leased(leases: readonly Lease[]): Promise<ClaimedDelivery[]> {
    if (leases.length === 0) return [];
    const attempts = new Map(leases.map((l) => [l.id, l.attempt]));
    const details = await this.#db.query<Omit<ClaimedDelivery, 'attempt'>>(LEASED, [
      [...attempts.keys()],
    ]);
    return details.rows.map((row) => ({ ...row, attempt: attempts.get(row.id) ?? 1 }));
  }

  /**
   * What `leased` gives, for the leases still standing that calls of `recordAndLease` with
   * these tokens took: for a sender that lost a call's answer (it may have committed).
   */
  async leasedBy(tokens: readonly string[]): Promise<ClaimedDelivery[]> {
    if (tokens.length === 0) return [];
    const result = await this.#db.query<ClaimedDelivery>(LEASED_BY_TOKEN, [tokens]);
    return result.rows;
  }

  /** Leases up to `limit` due deliveries and reads them (nothing recorded). */
  async claimDue(options: { limit: number; leaseMarginMs: number }): Promise<ClaimedDelivery[]> {
    return this.leased(await this.recordAndLease([], options));
  }

  /** Records attempts and what follows from each (`recordAndLease` leasing nothing). */
  async recordAttempts(records: readonly AttemptRecord[]): Promise<void> {
    await this.recordAndLease(records, { limit: 0, leaseMarginMs: 0 });
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
       FROM deliveries d
       JOIN webhook_events w ON w.id = d.event_row_id AND w.created_at = d.event_created_at
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
   * schedule; their attempts so far stay. An ordered delivery replayed is sent at once, outside
   * its key's order (its key's chain goes on as it was); one still waiting for its turn keeps
   * waiting. A delivery being sent right now is left alone (its
   * outcome follows). With `dryRun`, only counts. Returns how many matched and were queued.
   */
  async replay(
    selection: DeliverySelection,
    options: { dryRun: boolean },
  ): Promise<{ matched: number; queued: number }> {
    const where = selectionConditions(selection);
    const values = where.values;
    const matched = `SELECT d.id, d.status, d.leased_until
      FROM deliveries d
      JOIN webhook_events w ON w.id = d.event_row_id AND w.created_at = d.event_created_at
      WHERE ${where.sql}`;
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
         UPDATE deliveries d SET status = 'pending', attempts = 0, leased_until = NULL,
           -- One waiting for the delivery before it of its ordering key keeps waiting: it has
           -- not been sent, and it goes in its turn.
           next_attempt_at = CASE WHEN d.status = 'pending' AND d.next_attempt_at = 'infinity'
             THEN d.next_attempt_at ELSE now() END
         FROM m
         -- One in flight now (leased, the lease not over) is left to its outcome.
         WHERE d.id = m.id
           AND NOT (m.status = 'pending' AND coalesce(m.leased_until > now(), false))
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

  /**
   * Whether PostgreSQL vacuums the deliveries table by itself (autovacuum on, and not turned
   * off for the table). Each delivery leaves dead rows behind (inserted, then updated as it is
   * leased and as its outcome is recorded); without vacuum they pile up and every claim walks
   * them, so sending slows down as they grow.
   */
  async vacuumedAutomatically(): Promise<boolean> {
    const result = await this.#db.query<{ on: boolean }>(
      `SELECT current_setting('autovacuum')::boolean
         AND NOT coalesce('autovacuum_enabled=false' = ANY (c.reloptions), false) AS on
       FROM pg_class c WHERE c.oid = 'deliveries'::regclass`,
    );
    return result.rows[0]?.on ?? false;
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
