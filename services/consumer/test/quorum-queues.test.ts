import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type IngestHarness,
  startConsumer,
  startIngest,
  testTopology,
} from '../../../test/helpers/pipeline.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerService } from '../src/consumer-service.js';

// The same pipeline with QUEUE_TYPE=quorum (what a cluster runs): retries go through quorum
// retry queues whose dead-lettering is at-least-once, and end in a quorum DLQ.
let database: TestDatabase;
let topology: Topology;
let ingest: IngestHarness;
let consumer: ConsumerService;
let admin: QueueAdmin;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  await database.db.query(`
    CREATE FUNCTION fail_flaky() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.event_id LIKE 'flaky-%' THEN
        RAISE EXCEPTION 'simulated deadlock' USING ERRCODE = '40P01';
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER fail_flaky BEFORE INSERT ON webhook_events
      FOR EACH ROW EXECUTE FUNCTION fail_flaky();`);
  topology = testTopology({ queueType: 'quorum', retryDelaysMs: [200, 400] });
  const amqpUrl = inject('amqpUrl');
  ingest = await startIngest({ amqpUrl, topology });
  consumer = startConsumer({ amqpUrl, databaseUrl: database.url, topology });
  admin = await QueueAdmin.connect(amqpUrl);
});

afterAll(async () => {
  await ingest?.close();
  await consumer?.stop();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

describe('with quorum queues', () => {
  it('stores good events and retries a transient failure through the quorum retry queues into the DLQ', async () => {
    const ids = ['q-1', 'flaky-q', 'q-2'];
    const responses = await Promise.all(
      ids.map((id) => ingest.post({ source: 'quorum', type: 'test', id })),
    );
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 200]);

    const [dead] = await waitFor('the dead letter', async () => {
      const messages = await admin.peek(topology.deadLetterQueue, 10);
      return messages.length > 0 ? messages : undefined;
    });
    expect(dead?.properties.messageId).toBe('flaky-q');
    expect(dead?.headers).toMatchObject({
      'x-death-reason': 'retries_exhausted',
      'x-attempts': 3,
      'x-last-error': expect.stringContaining('40P01'),
    });
    const rows = await database.db.query<{ event_id: string }>(
      'SELECT event_id FROM webhook_events ORDER BY event_id',
    );
    expect(rows.rows.map((r) => r.event_id)).toEqual(['q-1', 'q-2']);
  });
});
