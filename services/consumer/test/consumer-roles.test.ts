import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startConsumer, testTopology } from '../../../test/helpers/pipeline.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerService } from '../src/consumer-service.js';

// CONSUMER_ROLES decides what a consumer process does: only one with `store` takes messages.
let database: TestDatabase;
let topology: Topology;
let admin: QueueAdmin;
const started: ConsumerService[] = [];

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology();
  admin = await QueueAdmin.connect(inject('amqpUrl'));
  await admin.declareTopology(topology);
});

afterAll(async () => {
  for (const consumer of started) await consumer.stop();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

function consumerWithRoles(roles: string): ConsumerService {
  const consumer = startConsumer({
    amqpUrl: inject('amqpUrl'),
    databaseUrl: database.url,
    topology,
    env: { CONSUMER_ROLES: roles },
  });
  started.push(consumer);
  return consumer;
}

async function storedRows(): Promise<number> {
  const result = await database.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM webhook_events',
  );
  return result.rows[0]?.n ?? 0;
}

describe('CONSUMER_ROLES', () => {
  it('without store, the consumer is up but takes nothing from the queue; with store, it does', async () => {
    await admin.publishRaw(
      topology.queue,
      Buffer.from(JSON.stringify({ source: 'roles', type: 't', id: 'r-1' })),
    );
    const deliverOnly = consumerWithRoles('deliver');
    await waitFor(
      'the deliver-only consumer to be ready',
      async () => (await deliverOnly.app.inject('/readyz')).statusCode === 200,
    );
    expect(await admin.consumerCount(topology.queue)).toBe(0);
    expect(await admin.count(topology.queue)).toBe(1);
    expect(await storedRows()).toBe(0);

    consumerWithRoles('store');
    await waitFor('the event stored', async () => (await storedRows()) === 1);
    expect(await admin.consumerCount(topology.queue)).toBe(1);
  });
});
