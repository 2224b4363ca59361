import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FaultProxy } from '../../../test/helpers/fault-proxy.js';
import {
  type IngestHarness,
  startConsumer,
  startIngest,
  testTopology,
} from '../../../test/helpers/pipeline.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';

let database: TestDatabase;
let proxy: FaultProxy;
let topology: Topology;
let ingest: IngestHarness;
let admin: QueueAdmin;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  proxy = (await FaultProxy.inFrontOf(database.url, 5432)).proxy;
  topology = testTopology();
  ingest = await startIngest({ amqpUrl: inject('amqpUrl'), topology });
  admin = await QueueAdmin.connect(inject('amqpUrl'));
});

afterAll(async () => {
  await ingest?.close();
  await proxy?.close();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

describe('consumer shutdown while the database is away', () => {
  it('ends promptly, giving the batch in hand back to the queue for the next consumer', async () => {
    const url = new URL(database.url);
    url.port = String(proxy.port);
    url.hostname = '127.0.0.1';
    const consumer = startConsumer({
      amqpUrl: inject('amqpUrl'),
      databaseUrl: url.toString(),
      topology,
      // A long batch wait keeps the events in hand until shutdown stores them.
      env: { BATCH_MAX_WAIT_MS: '60000', BATCH_SIZE: '500' },
    });
    await waitFor(
      'the consumer ready',
      async () => (await consumer.app.inject('/readyz')).statusCode === 200,
    );
    // The first delivery teaches the consumer the message size (its first subscription takes
    // one message, and that batch is stored at once); the events below then wait in hand.
    expect((await ingest.post({ source: 'shutdown', type: 't', id: 'warm-up' })).statusCode).toBe(
      200,
    );
    await waitFor('the warm-up event stored', async () => {
      const { rows } = await database.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM webhook_events',
      );
      return rows[0]?.n === 1;
    });
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ingest.post({ source: 'shutdown', type: 't', id: `s-${i}` }),
      ),
    );
    expect(responses.every((r) => r.statusCode === 200)).toBe(true);
    await waitFor('the events in hand', async () => (await admin.count(topology.queue)) === 0);

    proxy.cut();
    const started = Date.now();
    await consumer.stop();
    expect(Date.now() - started).toBeLessThan(10_000);

    // Nothing was stored or acked: the events are back in the queue for the next consumer.
    await waitFor(
      'the events back in the queue',
      async () => (await admin.count(topology.queue)) === 20,
    );
    expect(await admin.count(topology.deadLetterQueue)).toBe(0);
  });
});
