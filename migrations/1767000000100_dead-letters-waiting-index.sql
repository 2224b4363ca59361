-- Up Migration

-- The oldest dead letter still waiting in the queue (the console's overview, every few
-- seconds): those not replayed since they were last dead-lettered, oldest first, so that the
-- first whose event is not stored ends the search.
CREATE INDEX dead_letters_waiting_idx ON dead_letters (dead_lettered_at)
  WHERE replayed_at IS NULL OR replayed_at < dead_lettered_at;

-- Down Migration

DROP INDEX dead_letters_waiting_idx;
