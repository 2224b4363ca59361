-- Up Migration

-- Order per key. A subscription with an ordering key (a JSON pointer into the event as sent:
-- /source, /type, /id or /data/...) is sent the events of one key one at a time, in the order
-- their inserts committed. Each delivery of such an event carries its key and its position in
-- the key, given in the statement that stores the event; only the key's head is due, the ones
-- after it wait (next_attempt_at = 'infinity', so the due-ness probe of the claim never reads
-- them) until the head is delivered or failed for good.
ALTER TABLE subscriptions ADD COLUMN ordering_key text;

ALTER TABLE deliveries
  ADD COLUMN order_key text,
  ADD COLUMN order_seq bigint;

-- One row per (subscription, key): the last position given and the head's (NULL: nothing of
-- the key pending). Storing updates it with ON CONFLICT DO UPDATE, which waits for a
-- transaction that holds it and then reads its committed values: a second storing transaction
-- on the same key takes its positions after the first one's commit, so positions follow commit
-- order, and its deliveries see whether the first one's are still pending.
CREATE TABLE delivery_order_keys (
  subscription_id uuid   NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  order_key       text   NOT NULL,
  last_seq        bigint NOT NULL,
  head_seq        bigint,
  PRIMARY KEY (subscription_id, order_key)
);

-- The next pending delivery of a key, by position: what a promotion reads.
CREATE INDEX deliveries_order_idx ON deliveries (subscription_id, order_key, order_seq)
  WHERE status = 'pending' AND order_key IS NOT NULL;

-- The text of the value at `p_pointer` (RFC 6901, as validated by the API) in the event as
-- sent: /id, /source, /type, or /data and below. A string is its text, any other JSON value its
-- JSON text; absent or JSON null: no key (delivered unordered).
CREATE FUNCTION event_order_key(p_pointer text, p_event_id text, p_source text, p_type text,
  p_data jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN p_pointer IS NULL THEN NULL
    WHEN p_pointer = '/id' THEN p_event_id
    WHEN p_pointer = '/source' THEN p_source
    WHEN p_pointer = '/type' THEN p_type
    WHEN p_pointer = '/data' OR starts_with(p_pointer, '/data/') THEN (
      SELECT CASE jsonb_typeof(v) WHEN 'string' THEN v #>> '{}' WHEN 'null' THEN NULL
        ELSE v::text END
      -- '/data/a/b' → {'', 'a', 'b'}: the segments after the first ('/data' → none).
      FROM (SELECT p_data #> ARRAY(
        SELECT replace(replace(t.segment, '~1', '/'), '~0', '~')
        FROM unnest(string_to_array(substr(p_pointer, 6), '/')) WITH ORDINALITY
          AS t(segment, n)
        WHERE t.n > 1
        ORDER BY t.n)) AS x(v))
  END
$$;

-- Moves the keys whose head just ended (`p_seqs` of `p_keys` of `p_subscription_ids`) on to
-- their next pending delivery: due now, and the key's head. An end of a delivery that is not
-- its key's head (a replay of an earlier one) moves nothing.
CREATE FUNCTION advance_delivery_order_keys(p_subscription_ids uuid[], p_keys text[],
  p_seqs bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  -- Locks the keys first, in one order (no deadlock with storing, which locks them in the same
  -- order): a storing transaction adding to a key commits before this goes on, and the next
  -- statement's fresh snapshot sees what it added.
  PERFORM 1 FROM delivery_order_keys k
  WHERE (k.subscription_id, k.order_key, k.head_seq) IN (
    SELECT * FROM unnest(p_subscription_ids, p_keys, p_seqs))
  ORDER BY k.subscription_id, k.order_key
  FOR UPDATE OF k;

  WITH ended AS (
    SELECT k.subscription_id, k.order_key, k.head_seq FROM delivery_order_keys k
    WHERE (k.subscription_id, k.order_key, k.head_seq) IN (
      SELECT * FROM unnest(p_subscription_ids, p_keys, p_seqs))
  ), next AS (
    SELECT e.subscription_id, e.order_key, n.id, n.order_seq FROM ended e
    LEFT JOIN LATERAL (
      SELECT d.id, d.order_seq FROM deliveries d
      WHERE d.subscription_id = e.subscription_id AND d.order_key = e.order_key
        AND d.status = 'pending' AND d.order_key IS NOT NULL AND d.order_seq > e.head_seq
      ORDER BY d.order_seq LIMIT 1) n ON true
  ), promoted AS (
    UPDATE deliveries d SET next_attempt_at = now()
    FROM next WHERE d.id = next.id AND d.next_attempt_at = 'infinity'
  )
  UPDATE delivery_order_keys k SET head_seq = next.order_seq
  FROM next WHERE k.subscription_id = next.subscription_id AND k.order_key = next.order_key;
END
$$;

-- The deliveries `ids` that are no longer pending (delivered, failed) pass their key on to the
-- next one of it.
CREATE FUNCTION promote_next_ordered_deliveries(ids uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  subs uuid[];
  keys text[];
  seqs bigint[];
BEGIN
  SELECT array_agg(d.subscription_id), array_agg(d.order_key), array_agg(d.order_seq)
  INTO subs, keys, seqs
  FROM deliveries d
  WHERE d.id = ANY (ids) AND d.order_key IS NOT NULL AND d.status <> 'pending';
  IF subs IS NOT NULL THEN
    PERFORM advance_delivery_order_keys(subs, keys, seqs);
  END IF;
END
$$;

-- A pending head that leaves (its event expired, retention) passes its key on too, or the
-- deliveries waiting behind it would wait for ever. A row trigger with a condition: the removal
-- of any other delivery (nearly all of them) costs no call.
CREATE FUNCTION deliveries_removed_advance_keys() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM advance_delivery_order_keys(ARRAY[OLD.subscription_id], ARRAY[OLD.order_key],
    ARRAY[OLD.order_seq]);
  RETURN NULL;
END
$$;

CREATE TRIGGER deliveries_removed_advance_keys AFTER DELETE ON deliveries
  FOR EACH ROW WHEN (OLD.order_key IS NOT NULL AND OLD.status = 'pending')
  EXECUTE FUNCTION deliveries_removed_advance_keys();

-- The sender's cycle as before (migrations/1767500000000_record-and-claim-deliveries.sql),
-- with one addition, marked below: the ordered deliveries whose outcome is final pass their key
-- on before anything is leased, so a key's next delivery can be leased in this same cycle.
CREATE OR REPLACE FUNCTION record_and_claim_deliveries(
  o_ids uuid[],
  o_attempted_at timestamptz[],
  o_duration_ms integer[],
  o_http_status integer[],
  o_error text[],
  o_response_body text[],
  o_status text[],
  o_next_at timestamptz[],
  p_limit integer,
  p_lease_margin_ms integer,
  p_capped uuid[],
  p_caps integer[],
  p_lease_token uuid
) RETURNS TABLE (delivery_id uuid, attempt integer)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  due uuid[];
  rate_window constant interval := interval '1.1 seconds';
BEGIN
  IF cardinality(o_ids) > 0 THEN
    -- Records attempts and their outcome. A delivery removed meanwhile (its event expired) is
    -- skipped. Only a delivery still pending is changed: a replay or another process's outcome
    -- is not overwritten by a late one. The deliveries are found by primary key, and 'pending'
    -- reaches the comparison through `r` (materialized): as a constant it would let the
    -- planner read the partial index of every pending delivery (a dead destination's whole
    -- backlog) whenever its statistics predate the backlog.
    WITH r AS MATERIALIZED (
      SELECT r.*, 'pending'::varchar AS pending
      FROM unnest(o_ids, o_attempted_at, o_duration_ms, o_http_status, o_error,
        o_response_body, o_status, o_next_at)
        AS r(id, attempted_at, duration_ms, http_status, error, response_body, status, next_at)
    ), logged AS (
      INSERT INTO delivery_attempts (delivery_id, subscription_id, attempted_at, http_status,
        error, duration_ms, response_body)
      SELECT r.id, d.subscription_id, r.attempted_at, r.http_status, r.error, r.duration_ms,
        r.response_body
      FROM r JOIN deliveries d ON d.id = r.id
      WHERE NOT EXISTS (SELECT 1 FROM delivery_attempts a
        WHERE a.delivery_id = r.id AND a.attempted_at = r.attempted_at)
    )
    -- A 429 is not one of the retries (the attempt number stays), and fails the delivery only
    -- once the destination has refused it with nothing but 429 for 24 hours.
    UPDATE deliveries d SET
      status = CASE
        WHEN r.http_status = 429 AND r.status = 'pending'
          AND r.attempted_at - coalesce(d.throttled_since, r.attempted_at) >= interval '24 hours'
        THEN 'failed' ELSE r.status END,
      attempts = CASE WHEN r.http_status = 429 THEN greatest(d.attempts - 1, 0)
        ELSE d.attempts END,
      throttled_since = CASE WHEN r.http_status = 429
        THEN coalesce(d.throttled_since, r.attempted_at) END,
      leased_until = NULL,
      next_attempt_at = coalesce(r.next_at, d.next_attempt_at),
      last_error = CASE WHEN r.status = 'delivered' THEN NULL
        ELSE coalesce(r.error, 'HTTP ' || r.http_status) END,
      delivered_at = CASE WHEN r.status = 'delivered' THEN r.attempted_at ELSE d.delivered_at END
    FROM r WHERE d.id = ANY (o_ids) AND d.id = r.id AND d.status = r.pending;

    -- Order per key (migrations/1769000000000_delivery-order-per-key.sql): begin.
    PERFORM promote_next_ordered_deliveries(o_ids);
    -- Order per key: end.
  END IF;

  IF p_limit <= 0 THEN
    RETURN;
  END IF;

  -- The active subscriptions with something due, locked for this claim (NO KEY UPDATE does not
  -- block the key-share locks that storing takes on them); another process claiming at the
  -- same moment skips them. "Something due" is the earliest pending delivery being due: one
  -- ordered index probe per subscription, whatever the statistics say.
  SELECT coalesce(array_agg(locked.id), '{}') INTO due FROM (
    SELECT s.id FROM subscriptions s
    WHERE s.state = 'active'
      AND NOT (s.id = ANY (
        SELECT c.id FROM unnest(p_capped, p_caps) AS c(id, cap) WHERE c.cap <= 0))
      AND (SELECT d.next_attempt_at FROM deliveries d
        WHERE d.subscription_id = s.id AND d.status = 'pending'
        ORDER BY d.next_attempt_at LIMIT 1) <= now()
    FOR NO KEY UPDATE OF s SKIP LOCKED
  ) locked;
  IF cardinality(due) = 0 THEN
    RETURN;
  END IF;

  -- A fresh snapshot: every lease committed before the lock was taken is counted. Each
  -- subscription gets up to its free slots (max_in_flight minus the leases not expired, and
  -- within the sender's cap), oldest due first, leased for its timeout plus the margin.
  --
  -- A rate-limited subscription also gets no more than its limit minus its leases in the last
  -- window. The window is a little longer than a second: an attempt starts a few milliseconds
  -- after its lease, not always equally many, and the destination counts starts.
  RETURN QUERY
  WITH subs AS (
    SELECT s.id, s.rate_limit_per_second IS NOT NULL AS limited, least(s.max_in_flight - (
      SELECT count(*) FROM deliveries d
      WHERE d.subscription_id = s.id AND d.status = 'pending'
        AND d.leased_until IS NOT NULL AND d.leased_until > now()
    ), coalesce((SELECT c.cap FROM unnest(p_capped, p_caps) AS c(id, cap) WHERE c.id = s.id),
      s.max_in_flight), coalesce(s.rate_limit_per_second - (
      SELECT count(*) FROM unnest(s.recent_leases) AS t(at)
      WHERE t.at > now() - rate_window), s.max_in_flight)) AS free
    FROM subscriptions s WHERE s.id = ANY (due)
  ), picked AS (
    SELECT p.id, subs.id AS subscription_id, subs.limited FROM subs CROSS JOIN LATERAL (
      SELECT d.id FROM deliveries d
      WHERE d.subscription_id = subs.id AND d.status = 'pending' AND d.next_attempt_at <= now()
      ORDER BY d.next_attempt_at
      LIMIT greatest(least(subs.free, p_limit), 0)
      FOR UPDATE OF d SKIP LOCKED
    ) p
    LIMIT p_limit
  ), counted AS (
    -- The rate-limited subscriptions' latest leases: those still in the window, and these.
    UPDATE subscriptions s SET recent_leases = ARRAY(
      SELECT t.at FROM unnest(s.recent_leases) AS t(at) WHERE t.at > now() - rate_window
      UNION ALL
      SELECT now() FROM picked WHERE picked.subscription_id = s.id)
    WHERE s.id IN (SELECT picked.subscription_id FROM picked WHERE picked.limited)
  )
  UPDATE deliveries d SET
    attempts = d.attempts + 1,
    last_attempt_at = now(),
    lease_token = p_lease_token,
    leased_until = now() + make_interval(secs => (s.timeout_ms + p_lease_margin_ms) / 1000.0),
    next_attempt_at = now() + make_interval(secs => (s.timeout_ms + p_lease_margin_ms) / 1000.0)
  FROM picked, subscriptions s
  WHERE d.id = picked.id AND s.id = d.subscription_id
  RETURNING d.id, d.attempts;
END
$$;

-- Down Migration

-- The sender's cycle as migrations/1767500000000_record-and-claim-deliveries.sql made it.
CREATE OR REPLACE FUNCTION record_and_claim_deliveries(
  o_ids uuid[],
  o_attempted_at timestamptz[],
  o_duration_ms integer[],
  o_http_status integer[],
  o_error text[],
  o_response_body text[],
  o_status text[],
  o_next_at timestamptz[],
  p_limit integer,
  p_lease_margin_ms integer,
  p_capped uuid[],
  p_caps integer[],
  p_lease_token uuid
) RETURNS TABLE (delivery_id uuid, attempt integer)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  due uuid[];
  rate_window constant interval := interval '1.1 seconds';
BEGIN
  IF cardinality(o_ids) > 0 THEN
    -- Records attempts and their outcome. A delivery removed meanwhile (its event expired) is
    -- skipped. Only a delivery still pending is changed: a replay or another process's outcome
    -- is not overwritten by a late one. The deliveries are found by primary key, and 'pending'
    -- reaches the comparison through `r` (materialized): as a constant it would let the
    -- planner read the partial index of every pending delivery (a dead destination's whole
    -- backlog) whenever its statistics predate the backlog.
    WITH r AS MATERIALIZED (
      SELECT r.*, 'pending'::varchar AS pending
      FROM unnest(o_ids, o_attempted_at, o_duration_ms, o_http_status, o_error,
        o_response_body, o_status, o_next_at)
        AS r(id, attempted_at, duration_ms, http_status, error, response_body, status, next_at)
    ), logged AS (
      INSERT INTO delivery_attempts (delivery_id, subscription_id, attempted_at, http_status,
        error, duration_ms, response_body)
      SELECT r.id, d.subscription_id, r.attempted_at, r.http_status, r.error, r.duration_ms,
        r.response_body
      FROM r JOIN deliveries d ON d.id = r.id
      WHERE NOT EXISTS (SELECT 1 FROM delivery_attempts a
        WHERE a.delivery_id = r.id AND a.attempted_at = r.attempted_at)
    )
    -- A 429 is not one of the retries (the attempt number stays), and fails the delivery only
    -- once the destination has refused it with nothing but 429 for 24 hours.
    UPDATE deliveries d SET
      status = CASE
        WHEN r.http_status = 429 AND r.status = 'pending'
          AND r.attempted_at - coalesce(d.throttled_since, r.attempted_at) >= interval '24 hours'
        THEN 'failed' ELSE r.status END,
      attempts = CASE WHEN r.http_status = 429 THEN greatest(d.attempts - 1, 0)
        ELSE d.attempts END,
      throttled_since = CASE WHEN r.http_status = 429
        THEN coalesce(d.throttled_since, r.attempted_at) END,
      leased_until = NULL,
      next_attempt_at = coalesce(r.next_at, d.next_attempt_at),
      last_error = CASE WHEN r.status = 'delivered' THEN NULL
        ELSE coalesce(r.error, 'HTTP ' || r.http_status) END,
      delivered_at = CASE WHEN r.status = 'delivered' THEN r.attempted_at ELSE d.delivered_at END
    FROM r WHERE d.id = ANY (o_ids) AND d.id = r.id AND d.status = r.pending;
  END IF;

  IF p_limit <= 0 THEN
    RETURN;
  END IF;

  -- The active subscriptions with something due, locked for this claim (NO KEY UPDATE does not
  -- block the key-share locks that storing takes on them); another process claiming at the
  -- same moment skips them. "Something due" is the earliest pending delivery being due: one
  -- ordered index probe per subscription, whatever the statistics say.
  SELECT coalesce(array_agg(locked.id), '{}') INTO due FROM (
    SELECT s.id FROM subscriptions s
    WHERE s.state = 'active'
      AND NOT (s.id = ANY (
        SELECT c.id FROM unnest(p_capped, p_caps) AS c(id, cap) WHERE c.cap <= 0))
      AND (SELECT d.next_attempt_at FROM deliveries d
        WHERE d.subscription_id = s.id AND d.status = 'pending'
        ORDER BY d.next_attempt_at LIMIT 1) <= now()
    FOR NO KEY UPDATE OF s SKIP LOCKED
  ) locked;
  IF cardinality(due) = 0 THEN
    RETURN;
  END IF;

  -- A fresh snapshot: every lease committed before the lock was taken is counted. Each
  -- subscription gets up to its free slots (max_in_flight minus the leases not expired, and
  -- within the sender's cap), oldest due first, leased for its timeout plus the margin.
  --
  -- A rate-limited subscription also gets no more than its limit minus its leases in the last
  -- window. The window is a little longer than a second: an attempt starts a few milliseconds
  -- after its lease, not always equally many, and the destination counts starts.
  RETURN QUERY
  WITH subs AS (
    SELECT s.id, s.rate_limit_per_second IS NOT NULL AS limited, least(s.max_in_flight - (
      SELECT count(*) FROM deliveries d
      WHERE d.subscription_id = s.id AND d.status = 'pending'
        AND d.leased_until IS NOT NULL AND d.leased_until > now()
    ), coalesce((SELECT c.cap FROM unnest(p_capped, p_caps) AS c(id, cap) WHERE c.id = s.id),
      s.max_in_flight), coalesce(s.rate_limit_per_second - (
      SELECT count(*) FROM unnest(s.recent_leases) AS t(at)
      WHERE t.at > now() - rate_window), s.max_in_flight)) AS free
    FROM subscriptions s WHERE s.id = ANY (due)
  ), picked AS (
    SELECT p.id, subs.id AS subscription_id, subs.limited FROM subs CROSS JOIN LATERAL (
      SELECT d.id FROM deliveries d
      WHERE d.subscription_id = subs.id AND d.status = 'pending' AND d.next_attempt_at <= now()
      ORDER BY d.next_attempt_at
      LIMIT greatest(least(subs.free, p_limit), 0)
      FOR UPDATE OF d SKIP LOCKED
    ) p
    LIMIT p_limit
  ), counted AS (
    -- The rate-limited subscriptions' latest leases: those still in the window, and these.
    UPDATE subscriptions s SET recent_leases = ARRAY(
      SELECT t.at FROM unnest(s.recent_leases) AS t(at) WHERE t.at > now() - rate_window
      UNION ALL
      SELECT now() FROM picked WHERE picked.subscription_id = s.id)
    WHERE s.id IN (SELECT picked.subscription_id FROM picked WHERE picked.limited)
  )
  UPDATE deliveries d SET
    attempts = d.attempts + 1,
    last_attempt_at = now(),
    lease_token = p_lease_token,
    leased_until = now() + make_interval(secs => (s.timeout_ms + p_lease_margin_ms) / 1000.0),
    next_attempt_at = now() + make_interval(secs => (s.timeout_ms + p_lease_margin_ms) / 1000.0)
  FROM picked, subscriptions s
  WHERE d.id = picked.id AND s.id = d.subscription_id
  RETURNING d.id, d.attempts;
END
$$;

DROP TRIGGER deliveries_removed_advance_keys ON deliveries;
DROP FUNCTION deliveries_removed_advance_keys();
DROP FUNCTION promote_next_ordered_deliveries(uuid[]);
DROP FUNCTION advance_delivery_order_keys(uuid[], text[], bigint[]);
DROP FUNCTION event_order_key(text, text, text, text, jsonb);
DROP TABLE delivery_order_keys;
DROP INDEX deliveries_order_idx;
ALTER TABLE deliveries DROP COLUMN order_seq, DROP COLUMN order_key;
ALTER TABLE subscriptions DROP COLUMN ordering_key;
