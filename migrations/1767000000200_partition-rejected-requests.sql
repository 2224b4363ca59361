-- Up Migration

-- Kept rejected requests move to daily partitions of `received_at`, like the events: their
-- retention drops whole days. A redelivered queue message carries the same id and the same
-- received_at, so the primary key (id, received_at) still makes it insert nothing. The
-- existing table becomes the first partition as it is; it is small (REJECTED_MAX_ROWS).

LOCK TABLE rejected_requests IN EXCLUSIVE MODE;

ALTER TABLE rejected_requests RENAME TO rejected_requests_before_partitions;
ALTER TABLE rejected_requests_before_partitions DROP CONSTRAINT rejected_requests_pkey;
ALTER INDEX rejected_requests_received_at_idx
  RENAME TO rejected_requests_before_partitions_received_at_idx;
ALTER INDEX rejected_requests_source_received_at_idx
  RENAME TO rejected_requests_before_partitions_source_received_at_idx;

CREATE TABLE rejected_requests (
  -- The id the ingest API gave the request: a redelivered queue message inserts nothing.
  id               uuid         NOT NULL,
  source           varchar(255) NOT NULL,
  -- invalid_signature or unknown_source, as answered.
  reason           varchar(32)  NOT NULL,
  -- The verifier's finer reason (signature_mismatch, timestamp_out_of_tolerance…).
  detail           varchar(255),
  received_at      timestamptz  NOT NULL,
  request_id       varchar(128),
  -- The request's headers without credentials (authorization, cookie…).
  headers          jsonb        NOT NULL,
  body             bytea        NOT NULL,
  created_at       timestamptz  NOT NULL DEFAULT now(),
  -- Set by `pnpm rejected:replay` once the request verified and was published.
  admitted_at      timestamptz,
  admitted_event_id varchar(255),
  CONSTRAINT rejected_requests_pkey PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);

-- Listing newest first (with the cursor), and the row cap.
CREATE INDEX rejected_requests_received_at_idx ON rejected_requests (received_at DESC, id DESC);
-- "What did this source send us that we refused?"
CREATE INDEX rejected_requests_source_received_at_idx
  ON rejected_requests (source, received_at DESC);

-- The old table holds every request received until now (or later, by a clock ahead).
DO $$
DECLARE
  upper_bound timestamptz;
BEGIN
  IF EXISTS (SELECT 1 FROM rejected_requests_before_partitions) THEN
    SELECT greatest(clock_timestamp(), max(received_at) + interval '1 microsecond')
      INTO upper_bound FROM rejected_requests_before_partitions;
    EXECUTE format(
      'ALTER TABLE rejected_requests ATTACH PARTITION rejected_requests_before_partitions
         FOR VALUES FROM (MINVALUE) TO (%L)',
      upper_bound);
  ELSE
    DROP TABLE rejected_requests_before_partitions;
  END IF;
END
$$;

SELECT create_daily_partitions('rejected_requests', (now() AT TIME ZONE 'UTC')::date, 4);

-- Down Migration

LOCK TABLE rejected_requests IN EXCLUSIVE MODE;
CREATE TABLE rejected_requests_unpartitioned (
  id               uuid         PRIMARY KEY,
  source           varchar(255) NOT NULL,
  reason           varchar(32)  NOT NULL,
  detail           varchar(255),
  received_at      timestamptz  NOT NULL,
  request_id       varchar(128),
  headers          jsonb        NOT NULL,
  body             bytea        NOT NULL,
  created_at       timestamptz  NOT NULL DEFAULT now(),
  admitted_at      timestamptz,
  admitted_event_id varchar(255)
);
INSERT INTO rejected_requests_unpartitioned
  SELECT id, source, reason, detail, received_at, request_id, headers, body, created_at,
    admitted_at, admitted_event_id
  FROM rejected_requests
  ON CONFLICT (id) DO NOTHING;
DROP TABLE rejected_requests;
ALTER TABLE rejected_requests_unpartitioned RENAME TO rejected_requests;
ALTER INDEX rejected_requests_unpartitioned_pkey RENAME TO rejected_requests_pkey;
CREATE INDEX rejected_requests_received_at_idx ON rejected_requests (received_at DESC, id DESC);
CREATE INDEX rejected_requests_source_received_at_idx
  ON rejected_requests (source, received_at DESC);
