-- Up Migration

-- What the consumer dead-lettered, searchable without touching the dead-letter queue (reading a
-- quorum queue and returning messages counts as a redelivery). The queue keeps the actionable
-- copy; this table is the index people search and the record of what was replayed.
CREATE TABLE dead_letters (
  id                uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
  -- One row per message, however often it is dead-lettered (a replay that fails again, or a
  -- crash between the dead-letter copy and the ack): source and event id when the body is an
  -- event, else the message id, else a digest of the body. The replay tool finds queue
  -- messages by the same key.
  message_key       text         NOT NULL,
  event_id          varchar(255),
  source            varchar(255),
  type              varchar(255),
  reason            varchar(64)  NOT NULL,
  last_error        text         NOT NULL,
  attempts          integer      NOT NULL,
  first_failed_at   timestamptz  NOT NULL,
  dead_lettered_at  timestamptz  NOT NULL,
  -- The message body as it is in the queue, byte for byte (it may not be JSON or UTF-8).
  body              bytea        NOT NULL,
  request_id        varchar(255),
  -- How often this message reached the dead-letter queue, and when it was last replayed.
  dead_letter_count integer      NOT NULL DEFAULT 1,
  replay_count      integer      NOT NULL DEFAULT 0,
  replayed_at       timestamptz,
  CONSTRAINT dead_letters_message_key_key UNIQUE (message_key)
);

-- "What failed recently", paging newest first; the oldest dead letter's age.
CREATE INDEX dead_letters_dead_lettered_at_idx ON dead_letters (dead_lettered_at DESC, id DESC);

-- "Failures of this source (and type)" and "failures for this reason", newest first.
CREATE INDEX dead_letters_source_type_idx
  ON dead_letters (source, type, dead_lettered_at DESC);
CREATE INDEX dead_letters_reason_idx ON dead_letters (reason, dead_lettered_at DESC);

-- "Is this event dead-lettered?"
CREATE INDEX dead_letters_event_id_idx ON dead_letters (event_id);

-- Down Migration

DROP TABLE dead_letters;
