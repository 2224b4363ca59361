import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ConsumerService } from '../../services/consumer/src/consumer-service.js';
import {
  type IngestHarness,
  startConsumer,
  startIngest,
  testTopology,
} from '../helpers/pipeline.js';
import { metricValue } from '../helpers/prometheus.js';
import { Reconciler } from '../helpers/reconcile.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

let database: TestDatabase;
let topology: Topology;
let ingest: IngestHarness;
let consumers: ConsumerService[];
let admin: QueueAdmin;

beforeAll(async () => {
  const amqpUrl = inject('amqpUrl');
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology();
  ingest = await startIngest({ amqpUrl, topology });
  // Small prefetch and batches, so the broker spreads the stream over both.
  const env = { PREFETCH: '50', BATCH_SIZE: '25' };
  consumers = [
    startConsumer({ amqpUrl, databaseUrl: database.url, topology, env }),
    startConsumer({ amqpUrl, databaseUrl: database.url, topology, env }),
  ];
  admin = await QueueAdmin.connect(amqpUrl);
});

afterAll(async () => {
  await ingest?.close();
  for (const consumer of consumers ?? []) await consumer.stop();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

describe('two consumers competing on one queue', () => {
  it('share the stream and store every event exactly once, repeats included', async () => {
    const reconciler = new Reconciler('competing');
    const post = async (body: Record<string, unknown>) => (await ingest.post(body)).statusCode;
    await reconciler.send({ prefix: 'e', count: 3000, concurrency: 30, post });
    // The same ids again: client retries must not create rows, whichever consumer gets them.
    await reconciler.send({ prefix: 'e', count: 500, concurrency: 30, post });

    const result = await reconciler.expectEveryAcceptedStoredOnce({
      db: database.db,
      admin,
      topology,
    });
    expect(result.stored).toBe(3000);

    const consumed = await Promise.all(
      consumers.map(async (c) =>
        metricValue((await c.app.inject('/metrics')).body, 'messages_consumed_total'),
      ),
    );
    expect(consumed.every((n) => n > 0)).toBe(true);
    expect(consumed.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3500);
  });
});
