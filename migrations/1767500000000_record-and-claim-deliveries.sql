-- Up Migration

-- Which sender's cycle took the lease: a sender that lost the answer to its cycle (the
-- connection cut after the commit) finds what it leased by this, rather than leaving it to
-- wait for the lease to end.
ALTER TABLE deliveries ADD COLUMN lease_token uuid;

-- Since when the destination has answered this delivery 429 (Too Many Requests) and nothing
-- else: a 429 is not one of its retries, but one still refused after 24 h fails.
ALTER TABLE deliveries ADD COLUMN throttled_since timestamptz;

-- Deliveries started per second to a subscription's destination, at most (NULL: no limit),
-- across every process: the claim keeps the times of its latest leases (within the window) and
-- leases no more than the limit allows in any window.
ALTER TABLE subscriptions ADD COLUMN rate_limit_per_second integer;
ALTER TABLE subscriptions ADD COLUMN recent_leases timestamptz[];

-- Called by each cycle with the deliveries whose outcome it just recorded, before it leases
-- anything: what else follows an outcome. Nothing yet; migration 1769000000000 (order per key)
-- makes a finished delivery pass its key on here.
CREATE FUNCTION deliveries_settled(ids uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
END
$$;

-- One round trip for a sender's whole cycle: record the outcomes of the attempts that ended,
-- which frees their in-flight slots, then lease the due deliveries that fit each active
-- subscription's free slots. Returns the leased deliveries' ids and attempt numbers; the
-- sender reads their bodies by id once this has committed.
--
-- Why a function: the claim must count the leases another process committed while this one
-- waited for nothing (the subscriptions are locked with SKIP LOCKED, then counted), so the
-- count needs a snapshot taken after the lock. In a VOLATILE function each statement takes a
-- fresh snapshot, as separate statements of a transaction would, without their round trips.
--
-- Recording is idempotent: an attempt already logged (same delivery and time) is not logged
-- again, so a sender that lost the answer can send the same outcomes once more.
--
-- `p_capped` / `p_caps`: a sender's own caps per subscription on top of `max_in_flight` (0:
-- none this time, 1: a single probe), for a destination it is backing off from.
CREATE FUNCTION record_and_claim_deliveries(
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

    PERFORM deliveries_settled(o_ids);
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

DROP FUNCTION record_and_claim_deliveries(uuid[], timestamptz[], integer[], integer[], text[],
  text[], text[], timestamptz[], integer, integer, uuid[], integer[], uuid);
DROP FUNCTION deliveries_settled(uuid[]);
ALTER TABLE subscriptions DROP COLUMN recent_leases;
ALTER TABLE subscriptions DROP COLUMN rate_limit_per_second;
ALTER TABLE deliveries DROP COLUMN throttled_since;
ALTER TABLE deliveries DROP COLUMN lease_token;
