import { randomBytes } from 'node:crypto';
import type { Database } from '@webhooks/db';
import type { Arrivals } from './delivery-receiver.js';

/** The signing secret of every subscription of a run. */
export const benchSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

/** The retry schedule a subscription gets by default (5 s, 30 s, 2 min, 10 min, 1 h, 6 h). */
export const DEFAULT_RETRY_DELAYS_MS = [5000, 30_000, 120_000, 600_000, 3_600_000, 21_600_000];

export interface BenchSubscription {
  name: string;
  url: string;
  /** Event types it takes. */
  types: string[];
  secret: string;
  maxInFlight: number;
  /** Default 10 s, as a subscription's. */
  timeoutMs?: number;
  /** Created paused, to let a backlog build up before it is sent. Default `active`. */
  state?: 'active' | 'paused';
  /** Its `ordering.key` (a JSON pointer into the event). Default: none, unordered. */
  orderingKey?: string;
}

/** Inserts the subscriptions (the table the ops API manages); their ids, in order. */
export async function subscribe(
  db: Database,
  subscriptions: BenchSubscription[],
): Promise<string[]> {
  const ids: string[] = [];
  for (const s of subscriptions) {
    const result = await db.query<{ id: string }>(
      `INSERT INTO subscriptions (name, url, types, secret, retry_delays_ms, timeout_ms,
         max_in_flight, state, ordering_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      [
        s.name,
        s.url,
        s.types,
        s.secret,
        DEFAULT_RETRY_DELAYS_MS,
        s.timeoutMs ?? 10_000,
        s.maxInFlight,
        s.state ?? 'active',
        s.orderingKey ?? null,
      ],
    );
    const id = result.rows[0]?.id;
    if (id === undefined) throw new Error(`subscription ${s.name} not created`);
    ids.push(id);
  }
  return ids;
}

export async function setSubscriptionState(
  db: Database,
  ids: string[],
  state: 'active' | 'paused',
): Promise<void> {
  await db.query(`UPDATE subscriptions SET state = $2 WHERE id = ANY ($1::uuid[])`, [ids, state]);
}

/** Removes subscriptions and, by the cascade, their deliveries: later events match none. */
export async function unsubscribe(db: Database, ids: string[]): Promise<void> {
  await db.query('DELETE FROM subscriptions WHERE id = ANY ($1::uuid[])', [ids]);
}

export interface DeliveryCounts {
  pending: number;
  delivered: number;
  failed: number;
}

/** The subscriptions' deliveries by status. */
export async function deliveryCounts(db: Database, ids: string[]): Promise<DeliveryCounts> {
  const result = await db.query<DeliveryCounts>(
    `SELECT count(*) FILTER (WHERE status = 'pending')::int AS pending,
            count(*) FILTER (WHERE status = 'delivered')::int AS delivered,
            count(*) FILTER (WHERE status = 'failed')::int AS failed
     FROM deliveries WHERE subscription_id = ANY ($1::uuid[])`,
    [ids],
  );
  return result.rows[0] ?? { pending: 0, delivered: 0, failed: 0 };
}

/** Polls until `expected` deliveries are recorded as delivered or `timeoutMs` passed; the count then. */
export async function waitForDelivered(
  db: Database,
  ids: string[],
  expected: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let delivered = (await deliveryCounts(db, ids)).delivered;
  while (delivered < expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    delivered = (await deliveryCounts(db, ids)).delivered;
  }
  return delivered;
}

/** Stored → delivered, ms: from the row's `created_at` to the delivery's first arrival. */
export interface StoredToDelivered {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Stored → delivered of the arrivals at one destination: each `webhook-id` (`msg_` + the row's
 * uuid) joined with its row, only rows stored at or after `storedFromMs` when given (the first
 * seconds of a run set apart).
 */
export async function storedToDelivered(
  db: Database,
  arrivals: Arrivals,
  storedFromMs = 0,
): Promise<StoredToDelivered> {
  const result = await db.query<{ count: number; p50: number; p99: number; max: number }>(
    `SELECT count(*)::int AS count,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
            max(ms) AS max
     FROM (SELECT a.at_ms - extract(epoch FROM w.created_at) * 1000 AS ms
           FROM unnest($1::uuid[], $2::float8[]) AS a(id, at_ms)
           JOIN webhook_events w ON w.id = a.id
           WHERE w.created_at >= to_timestamp($3::float8 / 1000)) t`,
    [arrivals.webhookIds.map((id) => id.replace(/^msg_/, '')), arrivals.atMs, storedFromMs],
  );
  const row = result.rows[0];
  const ms = (value: number | undefined) => Math.round(Number(value ?? 0) * 10) / 10;
  return { count: row?.count ?? 0, p50Ms: ms(row?.p50), p99Ms: ms(row?.p99), maxMs: ms(row?.max) };
}
