import type { Database } from './database.js';
import { subscriptionMatchesSql, typeMatchesSql } from './event-match-sql.js';
import { firstAttemptAtSql, orderPositionsSql } from './order-positions-sql.js';
import { utcText } from './utc-text.js';

/** Which stored events a backfill makes deliveries of, besides the subscription's filter. */
export interface BackfillWindow {
  /** Stored at or after (RFC 3339). */
  from: string;
  /** Stored before (RFC 3339). */
  to: string;
  /** Only events of one of these sources. */
  sources?: readonly string[] | undefined;
  /** Only events of one of these types (a trailing `*` is a prefix). */
  types?: readonly string[] | undefined;
}

export interface BackfillResult {
  /** Stored events in the window that match the filter and the narrowing. */
  matched: number;
  /** Deliveries made (0 in a dry run): matched events that had none for this subscription. */
  queued: number;
}

/** Events read per statement: a few thousand, a short statement each. */
export const BACKFILL_PAGE_SIZE = 5000;

/**
 * One page of a backfill: the next `$6` events stored in [`$2`, `$3`) after the keyset
 * position (`$4`, `$5`) by (created_at, id), through `webhook_events_created_at_idx`; those
 * matching the subscription `$1` (and the narrowing `$7`, `$8`) become its deliveries, unless
 * it has one of them already (one delivery per subscription and event). The subscription is
 * key-share locked once, as storing does: a delete waits for the page rather than failing it.
 * Returns the page's last position, empty when the window is done.
 */
function pageStatement(dryRun: boolean): string {
  const matching = `
    SELECT p.id, p.created_at,
      -- The data is read (by primary key) only for an ordered subscription: a page of data
      -- held in the page's rows would be megabytes.
      CASE WHEN s.ordering_key IS NOT NULL
        THEN event_order_key(s.ordering_key, p.event_id, p.source, p.type,
          (SELECT w.data FROM webhook_events w WHERE w.id = p.id)) END AS order_key,
      row_number() OVER (ORDER BY p.created_at, p.id) AS place
    FROM page p CROSS JOIN s
    WHERE ${subscriptionMatchesSql('s', 'p')}
      AND ($7::text[] IS NULL OR p.source = ANY ($7::text[]))
      AND ($8::text[] IS NULL OR ${typeMatchesSql('p.type', '$8::text[]')})`;
  const queued = dryRun
    ? 'SELECT 1 WHERE false'
    : `INSERT INTO deliveries (subscription_id, event_row_id, event_created_at, order_key,
         order_seq, next_attempt_at)
       SELECT $1::uuid, m.id, m.created_at, p.order_key, p.seq, ${firstAttemptAtSql('p')}
       FROM fresh m LEFT JOIN positioned p ON p.event_row_id = m.id
       ON CONFLICT (subscription_id, event_row_id) DO NOTHING
       RETURNING 1`;
  // Of an ordered subscription, the events it has no delivery of yet take their key's next
  // positions in the order they were stored (by the time stored: the commit order of events
  // stored before is not known).
  const ordered = dryRun
    ? ''
    : `, fresh AS MATERIALIZED (
      SELECT m.* FROM matching m
      WHERE NOT EXISTS (SELECT 1 FROM deliveries d
        WHERE d.subscription_id = $1::uuid AND d.event_row_id = m.id)
    ), ranked AS MATERIALIZED (
      SELECT $1::uuid AS subscription_id, f.id AS event_row_id, f.order_key,
        row_number() OVER (PARTITION BY f.order_key ORDER BY f.place) AS k,
        count(*) OVER (PARTITION BY f.order_key) AS n
      FROM fresh f WHERE f.order_key IS NOT NULL
    ), ${orderPositionsSql('ranked')}`;
  return `
    WITH s AS MATERIALIZED (
      SELECT id, sources, types, ordering_key FROM subscriptions WHERE id = $1::uuid
      FOR KEY SHARE
    ), page AS MATERIALIZED (
      SELECT w.id, w.event_id, w.source, w.type, w.created_at FROM webhook_events w
      -- The index range starts at the previous page's end, not at the window's start.
      WHERE w.created_at >= coalesce($4::timestamptz, $2::timestamptz)
        AND w.created_at < $3::timestamptz
        AND ($4::timestamptz IS NULL OR (w.created_at, w.id) > ($4::timestamptz, $5::uuid))
      ORDER BY w.created_at, w.id
      LIMIT $6::int
    ), matching AS MATERIALIZED (${matching}
    )${ordered}, queued AS (${queued}
    ), last AS (
      SELECT ${utcText('p.created_at')} AS "createdAt", p.id FROM page p
      ORDER BY p.created_at DESC, p.id DESC LIMIT 1
    )
    SELECT (SELECT count(*) FROM page)::int AS read,
      (SELECT count(*) FROM matching)::int AS matched,
      (SELECT count(*) FROM queued)::int AS queued,
      (SELECT "createdAt" FROM last) AS "lastCreatedAt",
      (SELECT id FROM last) AS "lastId"`;
}

const BACKFILL_PAGE = pageStatement(false);
const BACKFILL_COUNT_PAGE = pageStatement(true);

interface PageRow {
  read: number;
  matched: number;
  queued: number;
  lastCreatedAt: string | null;
  lastId: string | null;
}

/**
 * Makes deliveries of `subscriptionId` for the stored events of `window` that match its filter,
 * page by page (each page its own statement, so nothing is held in memory or locked between
 * pages; pages of backfills of the same subscription run one at a time). Events it has a
 * delivery for already keep it as it is: not made again, not sent again (a replay does that).
 * With `dryRun`, only counts.
 */
export async function backfillDeliveries(
  db: Database,
  subscriptionId: string,
  window: BackfillWindow,
  options: { dryRun: boolean; pageSize?: number | undefined },
): Promise<BackfillResult> {
  const pageSize = options.pageSize ?? BACKFILL_PAGE_SIZE;
  const statement = options.dryRun ? BACKFILL_COUNT_PAGE : BACKFILL_PAGE;
  const total: BackfillResult = { matched: 0, queued: 0 };
  let after: { createdAt: string | null; id: string | null } = { createdAt: null, id: null };
  for (;;) {
    const values = [
      subscriptionId,
      window.from,
      window.to,
      after.createdAt,
      after.id,
      pageSize,
      window.sources ?? null,
      window.types ?? null,
    ];
    const result = options.dryRun
      ? await db.query<PageRow>(statement, values)
      : await db.transaction(async (query) => {
          // One page of the subscription's backfills at a time, and each page's snapshot taken
          // after the one before it committed: otherwise two backfills at once both see an
          // event without its delivery, and the one whose insert is then dropped as a
          // duplicate has already taken a position in the event's key for it (a gap the key
          // would wait on).
          await query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
            `delivery-backfill:${subscriptionId}`,
          ]);
          return query<PageRow>(statement, values);
        });
    const page = result.rows[0];
    if (page === undefined || page.read === 0) return total;
    total.matched += page.matched;
    total.queued += page.queued;
    if (page.read < pageSize) return total;
    after = { createdAt: page.lastCreatedAt, id: page.lastId };
  }
}
