-- Up Migration

-- The services that act on stored events, and what each of them is sent.
CREATE TABLE subscriptions (
  id                         uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
  name                       varchar(255) NOT NULL,
  url                        text         NOT NULL,
  -- NULL: every source (type). A type pattern may end in '*': a prefix.
  sources                    text[],
  types                      text[],
  -- 'whsec_' + base64. While a rotated-out secret has not expired, deliveries carry a
  -- signature with each.
  secret                     text         NOT NULL,
  previous_secret            text,
  previous_secret_expires_at timestamptz,
  retry_delays_ms            integer[]    NOT NULL,
  timeout_ms                 integer      NOT NULL,
  max_in_flight              integer      NOT NULL,
  state                      varchar(16)  NOT NULL DEFAULT 'active',
  created_at                 timestamptz  NOT NULL DEFAULT now(),
  updated_at                 timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT subscriptions_name_key UNIQUE (name)
);

-- One delivery per (subscription, event), made in the transaction that stores the event, so
-- a stored event can never miss one and a redelivered message never makes a second. A replay
-- sends the same delivery again: its attempts are appended.
CREATE TABLE deliveries (
  id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  subscription_id   uuid        NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
  -- Leaves with its event (retention).
  event_row_id      uuid        NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
  -- When the event was stored: what `from`/`to` select, and the start of its latency.
  event_created_at  timestamptz NOT NULL,
  status            varchar(16) NOT NULL DEFAULT 'pending',
  -- Attempts since it was created or last replayed: the place in the retry schedule.
  attempts          integer     NOT NULL DEFAULT 0,
  -- While a process sends it, when its lease ends (`leased_until` too): a process that dies
  -- leaves the delivery to come due again, and it is sent again (at least once).
  next_attempt_at   timestamptz NOT NULL DEFAULT now(),
  leased_until      timestamptz,
  last_attempt_at   timestamptz,
  last_error        text,
  delivered_at      timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT deliveries_subscription_event_key UNIQUE (subscription_id, event_row_id)
);

-- What is due (and what is in flight) per subscription: the sender's only query path.
CREATE INDEX deliveries_pending_idx
  ON deliveries (subscription_id, next_attempt_at) WHERE status = 'pending';

-- What is in flight per subscription (`maxInFlight` holds across processes): a few rows,
-- however long the backlog.
CREATE INDEX deliveries_leased_idx
  ON deliveries (subscription_id) WHERE status = 'pending' AND leased_until IS NOT NULL;

-- A subscription's deliveries newest first, by status.
CREATE INDEX deliveries_subscription_idx
  ON deliveries (subscription_id, event_created_at DESC, id DESC);

-- The cascade from webhook_events (retention) finds an event's deliveries by it.
CREATE INDEX deliveries_event_row_id_idx ON deliveries (event_row_id);

CREATE TABLE delivery_attempts (
  id            bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id   uuid         NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
  -- Its delivery's, so that a subscription's latest failure is found without its deliveries.
  subscription_id uuid       NOT NULL,
  attempted_at  timestamptz  NOT NULL,
  -- The destination's status, or NULL with `error` when none came (timeout, refused, reset).
  http_status   integer,
  error         text,
  duration_ms   integer      NOT NULL,
  -- The first KiB of what the destination answered.
  response_body text
);

CREATE INDEX delivery_attempts_delivery_id_idx ON delivery_attempts (delivery_id, id);

-- A subscription's health (shown with every subscription): what was delivered and what failed
-- in the last hour, and its latest attempt without a 2xx, each from an index rather than from
-- every delivery it ever had.
CREATE INDEX deliveries_delivered_idx
  ON deliveries (subscription_id, delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX deliveries_failed_idx
  ON deliveries (subscription_id, last_attempt_at) WHERE status = 'failed';
CREATE INDEX delivery_attempts_failed_idx
  ON delivery_attempts (subscription_id, attempted_at DESC, id DESC)
  WHERE http_status IS NULL OR http_status NOT BETWEEN 200 AND 299;

-- Down Migration

DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE subscriptions;
