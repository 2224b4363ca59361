-- Up Migration

-- Events move to a table partitioned by day of `created_at`: retention drops whole days
-- instead of deleting rows. PostgreSQL wants the partition key in every unique index, so
-- `UNIQUE (source, event_id)` moves to `webhook_event_keys`, a narrow table written by the
-- statement that stores the event and cleared after its event's partition is dropped.
--
-- The existing table becomes the first partition as it is (its rows are neither copied nor
-- rewritten): writes wait while its keys are copied and its new primary key is built (see
-- docs/operations.md, "Storage", for the time per million events).

-- A UUID version 7 of `at`: its first 48 bits are `at` in Unix milliseconds, the rest random.
-- Every event's id is made from its `created_at`, so an id names the partition that holds it.
CREATE FUNCTION uuid_v7(at timestamptz) RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send(floor(extract(epoch FROM at) * 1000)::bigint) FROM 3)
        FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;

-- The range partitions of a table partitioned by one timestamptz, by their bounds (never by
-- their names): a partition attached by hand is found like any other. MINVALUE and MAXVALUE
-- read as -infinity and infinity; the default partition, having no bounds, is left out.
CREATE FUNCTION partition_bounds(parent regclass)
RETURNS TABLE (partition regclass, lower timestamptz, upper timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT c.oid::regclass,
    CASE WHEN b LIKE '%FROM (MINVALUE)%' THEN '-infinity'::timestamptz
      ELSE (regexp_match(b, 'FROM \(''([^'']*)''\)'))[1]::timestamptz END,
    CASE WHEN b LIKE '%TO (MAXVALUE)%' THEN 'infinity'::timestamptz
      ELSE (regexp_match(b, 'TO \(''([^'']*)''\)'))[1]::timestamptz END
  FROM pg_inherits i
  JOIN pg_class c ON c.oid = i.inhrelid
  CROSS JOIN LATERAL pg_get_expr(c.relpartbound, c.oid) AS b
  WHERE i.inhparent = parent AND b <> 'DEFAULT'
$$;

-- Makes sure that every instant of the `days` UTC days from `first_day` has a partition of
-- `parent`: each day's part not covered by a partition already there (attached by hand, or
-- the first one made by this migration) gets one. Runs one at a time per table; the new
-- table is made alone and then attached, which waits for no insert or query of the others.
-- Returns how many partitions it made.
CREATE FUNCTION create_daily_partitions(parent regclass, first_day date, days integer)
RETURNS integer
LANGUAGE plpgsql
SET lock_timeout = '5s'
AS $$
DECLARE
  day_start timestamptz;
  day_end timestamptz;
  gap_start timestamptz;
  taken record;
  made integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('create_daily_partitions'), parent::oid::integer);
  FOR i IN 0 .. days - 1 LOOP
    day_start := (first_day + i)::timestamp AT TIME ZONE 'UTC';
    day_end := (first_day + i + 1)::timestamp AT TIME ZONE 'UTC';
    gap_start := day_start;
    FOR taken IN
      SELECT lower, upper FROM partition_bounds(parent)
      WHERE lower < day_end AND upper > day_start ORDER BY lower
    LOOP
      IF taken.lower > gap_start THEN
        PERFORM create_partition(parent, gap_start, taken.lower);
        made := made + 1;
      END IF;
      gap_start := greatest(gap_start, taken.upper);
    END LOOP;
    IF gap_start < day_end THEN
      PERFORM create_partition(parent, gap_start, day_end);
      made := made + 1;
    END IF;
  END LOOP;
  RETURN made;
END
$$;

-- One partition of `parent` for [from_at, to_at), named `<parent>_p<yyyymmdd>` after its UTC
-- day (with the time when it does not start at midnight).
CREATE FUNCTION create_partition(parent regclass, from_at timestamptz, to_at timestamptz)
RETURNS regclass
LANGUAGE plpgsql AS $$
DECLARE
  name text := format('%s_p%s', parent::text,
    CASE WHEN from_at = date_trunc('day', from_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
      THEN to_char(from_at AT TIME ZONE 'UTC', 'YYYYMMDD')
      ELSE to_char(from_at AT TIME ZONE 'UTC', 'YYYYMMDD"_"HH24MISSUS') END);
BEGIN
  EXECUTE format('CREATE TABLE %I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
    name, parent::text);
  EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
    parent::text, name, from_at, to_at);
  RETURN name::regclass;
END
$$;

-- Writes wait from here to the end; reads go on until the table is renamed.
LOCK TABLE webhook_events IN EXCLUSIVE MODE;

CREATE TABLE webhook_event_keys (
  source       varchar(255) NOT NULL,
  event_id     varchar(255) NOT NULL,
  -- The event's id and created_at: its primary key, and what retention clears keys by.
  event_row_id uuid         NOT NULL,
  created_at   timestamptz  NOT NULL
);
INSERT INTO webhook_event_keys (source, event_id, event_row_id, created_at)
  SELECT source, event_id, id, created_at FROM webhook_events ORDER BY source, event_id;
-- Built after the copy (one sort, not a million index inserts).
ALTER TABLE webhook_event_keys
  ADD CONSTRAINT webhook_event_keys_pkey PRIMARY KEY (source, event_id);
-- Retention clears the keys of dropped days oldest first.
CREATE INDEX webhook_event_keys_created_at_idx ON webhook_event_keys (created_at);

ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_row_id_fkey;
ALTER TABLE webhook_events RENAME TO webhook_events_before_partitions;
ALTER TABLE webhook_events_before_partitions
  DROP CONSTRAINT webhook_events_pkey,
  DROP CONSTRAINT webhook_events_source_event_id_key,
  ALTER COLUMN id DROP DEFAULT,
  ADD COLUMN request_id varchar(128);
ALTER INDEX webhook_events_source_type_timestamp_idx
  RENAME TO webhook_events_before_partitions_source_type_timestamp_idx;
ALTER INDEX webhook_events_created_at_idx
  RENAME TO webhook_events_before_partitions_created_at_idx;

CREATE TABLE webhook_events (
  -- A UUID v7 of created_at (see uuid_v7); rows stored before partitioning keep their v4 ids.
  id          uuid         NOT NULL DEFAULT uuid_v7(now()),
  event_id    varchar(255) NOT NULL,
  source      varchar(255) NOT NULL,
  type        varchar(255) NOT NULL,
  data        jsonb        NOT NULL,
  "timestamp" timestamptz  NOT NULL,
  created_at  timestamptz  NOT NULL DEFAULT now(),
  -- The ingest API's x-request-id of the request that brought the event.
  request_id  varchar(128),
  CONSTRAINT webhook_events_pkey PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

-- "Events of this source and type over time", newest first.
CREATE INDEX webhook_events_source_type_timestamp_idx
  ON webhook_events (source, type, "timestamp" DESC);
-- "What arrived recently", paging.
CREATE INDEX webhook_events_created_at_idx ON webhook_events (created_at DESC, id DESC);
-- The old table holds everything stored until now: every row committed before the lock was
-- taken has a created_at before this instant. Attaching it checks that and builds the
-- indexes it lacks; the days from now on get partitions of their own. Retention drops it
-- whole once its newest row is past RETENTION_DAYS. Empty (a new installation), it goes.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM webhook_events_before_partitions) THEN
    EXECUTE format(
      'ALTER TABLE webhook_events ATTACH PARTITION webhook_events_before_partitions
         FOR VALUES FROM (MINVALUE) TO (%L)',
      clock_timestamp());
  ELSE
    DROP TABLE webhook_events_before_partitions;
  END IF;
END
$$;

-- Two indexes the old table lacks are made for the partitions only (ON ONLY): building them
-- on the old table here would hold writes back about 5 s more per million rows. The
-- consumer's hourly run builds them there afterwards, concurrently (see
-- DailyPartitions.completeIndexes); every new partition has them from the start.
-- "What arrived recently from this source": the events API's most common page.
CREATE INDEX webhook_events_source_created_at_idx
  ON ONLY webhook_events (source, created_at DESC, id DESC);
-- `contains` (data @> ...).
CREATE INDEX webhook_events_data_idx ON ONLY webhook_events USING gin (data jsonb_path_ops);

SELECT create_daily_partitions('webhook_events', (now() AT TIME ZONE 'UTC')::date, 4);

-- A delivery leaves with its event: retention removes a day's deliveries, then its partition.
-- NOT VALID: every delivery was made with its event's id and created_at (the statement that
-- stores events makes them), so checking each one would only hold the lock longer.
ALTER TABLE deliveries
  ADD CONSTRAINT deliveries_event_fkey FOREIGN KEY (event_row_id, event_created_at)
  REFERENCES webhook_events (id, created_at) ON DELETE CASCADE NOT VALID;
-- Retention finds a day's deliveries by it.
CREATE INDEX deliveries_event_created_at_idx ON deliveries (event_created_at);

-- Down Migration

LOCK TABLE webhook_events IN EXCLUSIVE MODE;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_fkey;
DROP INDEX deliveries_event_created_at_idx;

CREATE TABLE webhook_events_unpartitioned (
  id          uuid         PRIMARY KEY DEFAULT gen_random_uuid(),
  event_id    varchar(255) NOT NULL,
  source      varchar(255) NOT NULL,
  type        varchar(255) NOT NULL,
  data        jsonb        NOT NULL,
  "timestamp" timestamptz  NOT NULL,
  created_at  timestamptz  NOT NULL DEFAULT now()
);
INSERT INTO webhook_events_unpartitioned (id, event_id, source, type, data, "timestamp", created_at)
  SELECT id, event_id, source, type, data, "timestamp", created_at FROM webhook_events;
DROP TABLE webhook_events;
DROP TABLE webhook_event_keys;
ALTER TABLE webhook_events_unpartitioned RENAME TO webhook_events;
ALTER INDEX webhook_events_unpartitioned_pkey RENAME TO webhook_events_pkey;
ALTER TABLE webhook_events
  ADD CONSTRAINT webhook_events_source_event_id_key UNIQUE (source, event_id);
CREATE INDEX webhook_events_source_type_timestamp_idx
  ON webhook_events (source, type, "timestamp" DESC);
CREATE INDEX webhook_events_created_at_idx ON webhook_events (created_at DESC, id DESC);
ALTER TABLE deliveries
  ADD CONSTRAINT deliveries_event_row_id_fkey FOREIGN KEY (event_row_id)
  REFERENCES webhook_events (id) ON DELETE CASCADE;

DROP FUNCTION create_daily_partitions(regclass, date, integer);
DROP FUNCTION create_partition(regclass, timestamptz, timestamptz);
DROP FUNCTION partition_bounds(regclass);
DROP FUNCTION uuid_v7(timestamptz);
