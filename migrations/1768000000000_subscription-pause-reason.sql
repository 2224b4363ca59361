-- Up Migration

-- Why and since when a subscription is paused, and when it was last resumed: a subscription
-- whose every attempt failed for a while (DELIVERY_AUTO_PAUSE_AFTER_MS) is paused by the
-- senders with a reason; a resume starts that clock again. A pause by an operator has no reason.
ALTER TABLE subscriptions
  ADD COLUMN paused_reason text,
  ADD COLUMN paused_at     timestamptz,
  ADD COLUMN resumed_at    timestamptz;

-- Down Migration

ALTER TABLE subscriptions
  DROP COLUMN resumed_at,
  DROP COLUMN paused_at,
  DROP COLUMN paused_reason;
