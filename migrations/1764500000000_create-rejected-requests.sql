-- Up Migration

-- Provider requests refused with 401 (signature) or 404 (unknown source), kept so that a
-- rotated or mistyped secret loses nothing: `pnpm rejected:replay` verifies them again. The
-- body is kept as bytes, exactly as received, since signatures cover those bytes.
CREATE TABLE rejected_requests (
  -- The id the ingest API gave the request: a redelivered queue message inserts nothing.
  id               uuid         PRIMARY KEY,
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
  admitted_event_id varchar(255)
);

-- Listing newest first (with the cursor) and retention by age.
CREATE INDEX rejected_requests_received_at_idx ON rejected_requests (received_at DESC, id DESC);
-- "What did this source send us that we refused?"
CREATE INDEX rejected_requests_source_received_at_idx
  ON rejected_requests (source, received_at DESC);

-- Down Migration

DROP TABLE rejected_requests;
