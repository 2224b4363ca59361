/**
 * CTEs (`keyed`, `positioned`) giving each ordered delivery about to be made its key's next
 * position, for a statement that makes deliveries (storing, backfill). `ranked` must be a CTE of
 * (subscription_id, event_row_id, order_key, k, n): the delivery's rank `k` among the `n` of its
 * (subscription, key) in this statement, in the order they are to be sent.
 *
 * One row per (subscription, key) is upserted in `delivery_order_keys` (ON CONFLICT DO UPDATE
 * cannot touch a row twice in a statement), in one order so that two statements never deadlock.
 * The upsert waits for a transaction that holds the row and then reads its committed values: a
 * second transaction on the same key takes its positions after the first one's commit, so
 * positions follow commit order, and it sees whether a delivery of the key is still pending
 * (`head_seq`). `positioned` gives `seq` and whether it is the key's head (due now; the others
 * wait, `next_attempt_at = 'infinity'`, for the one before them to end).
 */
export function orderPositionsSql(ranked: string): string {
  return `keyed AS (
    INSERT INTO delivery_order_keys AS k (subscription_id, order_key, last_seq, head_seq)
    SELECT r.subscription_id, r.order_key, count(*), 1 FROM ${ranked} r
    GROUP BY r.subscription_id, r.order_key
    ORDER BY r.subscription_id, r.order_key
    ON CONFLICT (subscription_id, order_key) DO UPDATE SET
      last_seq = k.last_seq + excluded.last_seq,
      head_seq = coalesce(k.head_seq, k.last_seq + 1)
    RETURNING k.subscription_id, k.order_key, k.last_seq, k.head_seq
  ), positioned AS (
    SELECT r.subscription_id, r.event_row_id, r.order_key, k.last_seq - r.n + r.k AS seq,
      k.last_seq - r.n + r.k = k.head_seq AS head
    FROM ${ranked} r JOIN keyed k USING (subscription_id, order_key)
  )`;
}

/** SQL for the `next_attempt_at` of a delivery, from its `positioned` row `p` (or none). */
export function firstAttemptAtSql(p: string): string {
  return `CASE WHEN ${p}.seq IS NULL OR ${p}.head THEN now() ELSE 'infinity'::timestamptz END`;
}
