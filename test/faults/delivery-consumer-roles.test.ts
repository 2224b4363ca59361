import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ConsumerService } from '../../services/consumer/src/consumer-service.js';
import { expectEveryStoredDelivered, storedWebhookIds } from '../helpers/delivery-reconcile.js';
import {
  type IngestHarness,
  startConsumer,
  startIngest,
  testTopology,
} from '../helpers/pipeline.js';
import { Reconciler } from '../helpers/reconcile.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { insertSubscription, newSecret } from '../helpers/test-subscription.js';
import { waitFor } from '../helpers/wait-for.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

// CONSUMER_ROLES splits the consumer: a `store` process takes the queue and stores, a
// `deliver` process sends what was stored. Each does only its own part.
const source = 'delivery-roles';
let database: TestDatabase;
let topology: Topology;
let ingest: IngestHarness;
let admin: QueueAdmin;
let receiver: WebhookReceiver;
const consumers: ConsumerService[] = [];
const secret = newSecret();

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology();
  receiver = await WebhookReceiver.start({ secrets: [secret] });
  ingest = await startIngest({ amqpUrl: inject('amqpUrl'), topology });
  admin = await QueueAdmin.connect(inject('amqpUrl'));
});

afterAll(async () => {
  await ingest?.close();
  for (const consumer of consumers) await consumer.stop();
  await receiver?.close();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

function consumerWithRoles(roles: string): ConsumerService {
  const consumer = startConsumer({
    amqpUrl: inject('amqpUrl'),
    databaseUrl: database.url,
    topology,
    env: { CONSUMER_ROLES: roles, DELIVERY_POLL_MS: '20' },
  });
  consumers.push(consumer);
  return consumer;
}

const ready = async (consumer: ConsumerService) =>
  (await consumer.app.inject('/readyz')).statusCode === 200;

const deliveryStates = async () =>
  (
    await database.db.query<{ status: string; attempts: number; n: number }>(
      `SELECT status, attempts, count(*)::int AS n FROM deliveries GROUP BY status, attempts
       ORDER BY status, attempts`,
    )
  ).rows;

describe('CONSUMER_ROLES split across two consumers', () => {
  it('a store-only consumer stores and sends nothing; a deliver-only one sends what was stored and takes nothing from the queue', async () => {
    const subscription = await insertSubscription(database.db, {
      url: receiver.url,
      secret,
      sources: [source],
    });
    const reconciler = new Reconciler(source);
    const post = async (body: Record<string, unknown>) => (await ingest.post(body)).statusCode;

    // Storing alone: every event stored, each with its delivery waiting, nothing sent.
    const store = consumerWithRoles('store');
    await waitFor('the store consumer to be ready', () => ready(store));
    await reconciler.send({ prefix: 'first', count: 200, concurrency: 10, post });
    await reconciler.expectEveryAcceptedStoredOnce({ db: database.db, admin, topology });
    expect(await deliveryStates()).toEqual([{ status: 'pending', attempts: 0, n: 200 }]);
    expect(receiver.connections).toBe(0);
    await store.stop();

    // Delivering alone: what was stored is sent; what arrives meanwhile stays in the queue.
    const deliver = consumerWithRoles('deliver');
    await waitFor('the deliver consumer to be ready', () => ready(deliver));
    await expectEveryStoredDelivered({
      db: database.db,
      source,
      subscriptionId: subscription.id,
      receiver,
      expectedStored: 200,
      label: 'sent by the deliver consumer',
    });
    await reconciler.send({ prefix: 'second', count: 100, concurrency: 10, post });
    await waitFor(
      'the new events waiting in the queue',
      async () => (await admin.count(topology.queue)) === 100,
    );
    expect((await storedWebhookIds(database.db, source)).size).toBe(200);

    // Both roles running: the second lot is stored by one and sent by the other.
    consumerWithRoles('store');
    await reconciler.expectEveryAcceptedStoredOnce({ db: database.db, admin, topology });
    await expectEveryStoredDelivered({
      db: database.db,
      source,
      subscriptionId: subscription.id,
      receiver,
      expectedStored: 300,
      label: 'stored by one consumer, sent by the other',
    });
    expect(await deliveryStates()).toEqual([{ status: 'delivered', attempts: 1, n: 300 }]);
  }, 60_000);
});
