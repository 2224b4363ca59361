import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ConsumerService } from '../../services/consumer/src/consumer-service.js';
import {
  classifyDeliveries,
  expectEveryStoredDelivered,
  storedWebhookIds,
} from '../helpers/delivery-reconcile.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
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

// The consumer's broker connection is cut (through a proxy) while it stores and delivers, then
// restored. Storing stops (the rest waits in the queue) and resumes; delivering what was stored
// needs no broker and goes on meanwhile. Every stored event reaches the subscriber.
const source = 'delivery-broker-cut';
let database: TestDatabase;
let topology: Topology;
let brokerProxy: FaultProxy;
let ingest: IngestHarness;
let consumer: ConsumerService;
let admin: QueueAdmin;
let receiver: WebhookReceiver;
const secret = newSecret();

beforeAll(async () => {
  const amqpUrl = inject('amqpUrl');
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology();
  const front = await FaultProxy.inFrontOf(amqpUrl, 5672);
  brokerProxy = front.proxy;
  let n = 0;
  // Answers after 20-50 ms: delivering lags storing, so stored events wait when the cut comes.
  receiver = await WebhookReceiver.start({
    secrets: [secret],
    respond: async () => {
      await new Promise((resolve) => setTimeout(resolve, 20 + ((n++ * 7) % 31)));
      return 200;
    },
  });
  ingest = await startIngest({ amqpUrl, topology });
  consumer = startConsumer({
    amqpUrl: front.url,
    databaseUrl: database.url,
    topology,
    env: { BATCH_SIZE: '50', PREFETCH: '200', DELIVERY_POLL_MS: '20' },
  });
  admin = await QueueAdmin.connect(amqpUrl);
});

afterAll(async () => {
  await ingest?.close();
  await consumer?.stop();
  await receiver?.close();
  await brokerProxy?.close();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

const storedCount = async () => (await storedWebhookIds(database.db, source)).size;
const readiness = async () => (await consumer.app.inject('/readyz')).json<{ broker: string }>();

describe('broker connection cut while storing and delivering', () => {
  it('storing stops and resumes; what was stored is delivered meanwhile; every stored event received, once after dedup by webhook-id', async () => {
    const subscription = await insertSubscription(database.db, {
      url: receiver.url,
      secret,
      sources: [source],
      timeoutMs: 1000,
      maxInFlight: 10,
      retryDelaysMs: [200, 400, 800, 1600],
    });
    const reconciler = new Reconciler(source);
    const sending = reconciler.send({
      prefix: 'b',
      count: 1000,
      concurrency: 20,
      post: async (body) => (await ingest.post(body)).statusCode,
    });
    await waitFor('the consumer to be storing', async () => (await storedCount()) >= 300, {
      timeoutMs: 20_000,
    });
    brokerProxy.cut();
    await waitFor(
      'the consumer to see the broker gone',
      async () => (await readiness()).broker === 'disconnected',
    );
    // The API has a connection of its own: the rest of the burst waits in the queue.
    await sending;
    expect(reconciler.acceptedIds()).toHaveLength(1000);
    const storedWhileCut = await storedCount();
    expect(storedWhileCut).toBeLessThan(1000);
    expect(await admin.count(topology.queue)).toBeGreaterThan(0);

    // Delivering needs only the database: everything stored so far arrives while the broker
    // is still away, and nothing more is stored meanwhile.
    await waitFor(
      'every event stored so far delivered, the broker still cut',
      async () =>
        classifyDeliveries(await storedWebhookIds(database.db, source), receiver.received).missing
          .length === 0,
      { timeoutMs: 20_000 },
    );
    expect(await storedCount()).toBe(storedWhileCut);
    expect((await readiness()).broker).toBe('disconnected');

    brokerProxy.restore();
    await reconciler.expectEveryAcceptedStoredOnce({
      db: database.db,
      admin,
      topology,
      label: 'stored across the broker cut',
    });
    await expectEveryStoredDelivered({
      db: database.db,
      source,
      subscriptionId: subscription.id,
      receiver,
      expectedStored: 1000,
      label: `delivered across the broker cut (${storedWhileCut} stored before it)`,
    });
  }, 60_000);
});
