import type { Database } from '@webhooks/db';
import { QueueAdmin, type Topology, type TopologyOptions } from '@webhooks/queue';
import type { Logger } from 'pino';
import { inject } from 'vitest';
import type { ConsumerService } from '../../services/consumer/src/consumer-service.js';
import { type IngestHarness, startConsumer, startIngest, testTopology } from './pipeline.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

/** The whole pipeline of one test file: its database, queues, both services and an admin. */
export interface PipelineFixture {
  database: TestDatabase;
  topology: Topology;
  ingest: IngestHarness;
  consumer: ConsumerService;
  admin: QueueAdmin;
  /** Stops both services and removes the queues and the database. */
  close(): Promise<void>;
}

export interface PipelineFixtureOptions {
  topology?: Partial<TopologyOptions>;
  consumerEnv?: Record<string, string>;
  ingestLogger?: Logger;
  consumerLogger?: Logger;
  /** Settings of the ingest API beyond the harness's (e.g. `WEBHOOK_SOURCES`). */
  ingestEnv?: Record<string, string>;
  /** Runs on the fresh database before the consumer starts (e.g. `failInserts`). */
  prepareDatabase?: (db: Database) => Promise<unknown>;
}

/** Starts ingest API and consumer in this process, on real RabbitMQ and PostgreSQL. */
export async function startPipeline(
  options: PipelineFixtureOptions = {},
): Promise<PipelineFixture> {
  const amqpUrl = inject('amqpUrl');
  const database = await createTestDatabase(inject('databaseUrl'));
  await options.prepareDatabase?.(database.db);
  const topology = testTopology(options.topology);
  const ingest = await startIngest({
    amqpUrl,
    topology,
    ...(options.ingestLogger ? { logger: options.ingestLogger } : {}),
    ...(options.ingestEnv ? { env: options.ingestEnv } : {}),
  });
  const consumer = startConsumer({
    amqpUrl,
    databaseUrl: database.url,
    topology,
    ...(options.consumerLogger ? { logger: options.consumerLogger } : {}),
    ...(options.consumerEnv ? { env: options.consumerEnv } : {}),
  });
  const admin = await QueueAdmin.connect(amqpUrl);
  return {
    database,
    topology,
    ingest,
    consumer,
    admin,
    close: async () => {
      await ingest.close();
      await consumer.stop();
      await admin.deleteTopology(topology).catch(() => {});
      await admin.close();
      await database.drop();
    },
  };
}

/**
 * Makes the database fail every insert of an event whose id matches `eventIdLike` (a LIKE
 * pattern) with `sqlstate`: `40001` or `40P01` for a transient failure, a class 22 code for
 * a row refused as data. `stop` removes it again.
 */
export async function failInserts(
  db: Database,
  options: { eventIdLike: string; sqlstate: string },
): Promise<{ stop(): Promise<void> }> {
  await db.query(`
    CREATE FUNCTION fail_matching_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.event_id LIKE '${options.eventIdLike}' THEN
        RAISE EXCEPTION 'simulated failure' USING ERRCODE = '${options.sqlstate}';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER fail_matching_inserts BEFORE INSERT ON webhook_events
      FOR EACH ROW EXECUTE FUNCTION fail_matching_inserts();`);
  return {
    stop: async () => {
      await db.query('DROP TRIGGER fail_matching_inserts ON webhook_events');
    },
  };
}
