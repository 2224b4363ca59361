-- Up Migration

-- A subscription's health (the ops API shows it with every subscription): what it was
-- delivered and what failed in the last hour, and its latest failed attempt. Without these,
-- each look reads every delivery the subscription ever had.

CREATE INDEX deliveries_delivered_idx
  ON deliveries (subscription_id, delivered_at) WHERE delivered_at IS NOT NULL;

CREATE INDEX deliveries_failed_idx
  ON deliveries (subscription_id, last_attempt_at) WHERE status = 'failed';

-- Failed attempts newest first: the latest of a subscription is the first one of its
-- deliveries met on the way. Only attempts without a 2xx are in it.
CREATE INDEX delivery_attempts_failed_idx
  ON delivery_attempts (attempted_at DESC, id DESC)
  WHERE http_status IS NULL OR http_status NOT BETWEEN 200 AND 299;

-- Down Migration

DROP INDEX delivery_attempts_failed_idx;
DROP INDEX deliveries_failed_idx;
DROP INDEX deliveries_delivered_idx;
