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

-- What follows a recorded outcome in the sender's cycle (see
-- migrations/1767500000000_record-and-claim-deliveries.sql): the ordered deliveries whose
-- outcome is final pass their key on before anything is leased, so a key's next delivery can be
-- leased in the same cycle.
CREATE OR REPLACE FUNCTION deliveries_settled(ids uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM promote_next_ordered_deliveries(ids);
END
$$;

-- Down Migration

-- Nothing follows a recorded outcome again, as migrations/1767500000000 made it.
CREATE OR REPLACE FUNCTION deliveries_settled(ids uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
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
