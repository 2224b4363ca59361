-- Up Migration

-- The Go original's table, plus what exactly-once storage needs: every row has the provider's
-- event id, and (source, event_id) is unique so redeliveries and client retries insert nothing.
CREATE TABLE webhook_events (
  id          uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
  event_id    varchar(255) NOT NULL,
  source      varchar(255) NOT NULL,
  type        varchar(255) NOT NULL,
  data        jsonb        NOT NULL,
  "timestamp" timestamptz  NOT NULL,
  created_at  timestamptz  NOT NULL DEFAULT now(),
  CONSTRAINT webhook_events_source_event_id_key UNIQUE (source, event_id)
);

-- "Events of this source and type over time", newest first.
CREATE INDEX webhook_events_source_type_timestamp_idx
  ON webhook_events (source, type, "timestamp" DESC);

-- "What arrived recently", paging and retention by age.
CREATE INDEX webhook_events_created_at_idx ON webhook_events (created_at DESC, id DESC);

-- Down Migration

DROP TABLE webhook_events;
