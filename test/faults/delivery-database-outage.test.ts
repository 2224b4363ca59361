import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ConsumerService } from '../../services/consumer/src/consumer-service.js';
import { expectEveryStoredDelivered } from '../helpers/delivery-reconcile.js';
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

// The consumer's database connection is cut (through a proxy) while it stores and delivers,
// then restored. Deliveries pause: nothing new is claimed, and the outcomes of those already
// under way wait in memory to be recorded. Afterwards every stored event reaches the
// subscriber, and every delivery is recorded delivered.
const MAX_IN_FLIGHT = 20;
let database: TestDatabase;
let topology: Topology;
let databaseProxy: FaultProxy;
let ingest: IngestHarness;
let consumer: ConsumerService;
let admin: QueueAdmin;
let receiver: WebhookReceiver;
const secret = newSecret();

beforeAll(async () => {
  const amqpUrl = inject('amqpUrl');
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology();
  const front = await FaultProxy.inFrontOf(database.url, 5432);
  databaseProxy = front.proxy;
  let n = 0;
  // Answers after 20-50 ms, so deliveries are under way when the database goes.
  receiver = await WebhookReceiver.start({
    secrets: [secret],
    respond: async () => {
      await new Promise((resolve) => setTimeout(resolve, 20 + ((n++ * 7) % 31)));
      return 200;
    },
  });
  ingest = await startIngest({ amqpUrl, topology });
  consumer = startConsumer({
    amqpUrl,
    databaseUrl: front.url,
    topology,
    env: { BATCH_SIZE: '50', PREFETCH: '200', DELIVERY_POLL_MS: '20' },
  });
  admin = await QueueAdmin.connect(amqpUrl);
});

afterAll(async () => {
  await ingest?.close();
  await consumer?.stop();
  await receiver?.close();
  await databaseProxy?.close();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

const readiness = async () => (await consumer.app.inject('/readyz')).json<{ database: string }>();

describe('database cut while delivering', () => {
  it('deliveries pause while it is away and resume when it is back: every stored event received, once after dedup by webhook-id', async () => {
    const source = 'delivery-database-cut';
    const subscription = await insertSubscription(database.db, {
      url: receiver.url,
      secret,
      sources: [source],
      timeoutMs: 1000,
      maxInFlight: MAX_IN_FLIGHT,
      retryDelaysMs: [200, 400, 800, 1600],
    });
    const reconciler = new Reconciler(source);
    const sending = reconciler.send({
      prefix: 'd',
      count: 1000,
      concurrency: 20,
      post: async (body) => (await ingest.post(body)).statusCode,
    });
    await waitFor('deliveries under way', () => receiver.received.length >= 200, {
      timeoutMs: 20_000,
      intervalMs: 1,
    });
    databaseProxy.cut();
    const receivedAtCut = receiver.received.length;
    await waitFor(
      'the consumer to see the database gone',
      async () => (await readiness()).database === 'unreachable',
    );
    // The API needs no database: the rest of the burst is accepted and waits in the broker.
    await sending;
    expect(reconciler.acceptedIds()).toHaveLength(1000);
    // Only what was already on its way at the cut arrived meanwhile.
    const receivedWhileAway = receiver.received.length - receivedAtCut;
    expect(receivedWhileAway).toBeLessThanOrEqual(MAX_IN_FLIGHT);
    expect(receiver.received.length).toBeLessThan(1000);

    databaseProxy.restore();
    await reconciler.expectEveryAcceptedStoredOnce({
      db: database.db,
      admin,
      topology,
      label: 'stored across the database cut',
    });
    await expectEveryStoredDelivered({
      db: database.db,
      source,
      subscriptionId: subscription.id,
      receiver,
      expectedStored: 1000,
      label: `delivered across the database cut (${receivedWhileAway} arrived while it was away)`,
    });
    expect((await readiness()).database).toBe('reachable');
  }, 60_000);
});
