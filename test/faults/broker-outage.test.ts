import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ConsumerService } from '../../services/consumer/src/consumer-service.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import {
  type IngestHarness,
  startConsumer,
  startIngest,
  testTopology,
} from '../helpers/pipeline.js';
import { Reconciler } from '../helpers/reconcile.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { waitFor } from '../helpers/wait-for.js';

// The broker connection is cut in the middle of a burst, once between the ingest API and
// RabbitMQ and once between RabbitMQ and the consumer, then restored. Every event answered
// 200 must end stored exactly once.
let database: TestDatabase;
let topology: Topology;
let ingestProxy: FaultProxy;
let consumerProxy: FaultProxy;
let ingest: IngestHarness;
let consumer: ConsumerService;
let admin: QueueAdmin;

beforeAll(async () => {
  const amqpUrl = inject('amqpUrl');
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology();
  const ingestFront = await FaultProxy.inFrontOf(amqpUrl, 5672);
  const consumerFront = await FaultProxy.inFrontOf(amqpUrl, 5672);
  ingestProxy = ingestFront.proxy;
  consumerProxy = consumerFront.proxy;
  ingest = await startIngest({
    amqpUrl: ingestFront.url,
    topology,
    env: { PUBLISH_TIMEOUT_MS: '2000' },
  });
  consumer = startConsumer({
    amqpUrl: consumerFront.url,
    databaseUrl: database.url,
    topology,
    env: { BATCH_SIZE: '50', PREFETCH: '200' },
  });
  admin = await QueueAdmin.connect(amqpUrl);
});

afterAll(async () => {
  await ingest?.close();
  await consumer?.stop();
  await ingestProxy?.close();
  await consumerProxy?.close();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

const post = async (body: Record<string, unknown>) => (await ingest.post(body)).statusCode;

describe('broker connection cut during a burst', () => {
  it('on the ingest side: refusals are honest (503), nothing answered 200 is lost, the API recovers', async () => {
    const reconciler = new Reconciler('broker-cut-ingest');
    const sending = reconciler.send({ prefix: 'i', count: 1500, concurrency: 20, post });
    await waitFor('the burst to be under way', () => reconciler.answers.size >= 300);
    ingestProxy.cut();
    await waitFor('refusals during the outage', () =>
      [...reconciler.answers.values()].some((a) => a === 503),
    );
    ingestProxy.restore();
    await sending;

    const answers = [...reconciler.answers.values()];
    expect(answers.every((a) => a === 200 || a === 503)).toBe(true);
    expect(answers.filter((a) => a === 503).length).toBeGreaterThan(0);
    // The API recovers by itself: ready again within the longest reconnect wait (5 s, +20 %
    // jitter), then every event is accepted. The burst above may well have ended, all of its
    // last requests refused, before the next reconnect attempt.
    await waitFor(
      'the ingest API to be ready again',
      async () => (await ingest.app.inject('/readyz')).statusCode === 200,
      { timeoutMs: 10_000 },
    );
    const sentBefore = reconciler.answers.size;
    await reconciler.send({ prefix: 'i-after', count: 100, concurrency: 10, post });
    expect([...reconciler.answers.values()].slice(sentBefore)).toEqual(Array(100).fill(200));

    const result = await reconciler.expectEveryAcceptedStoredOnce({
      db: database.db,
      admin,
      topology,
      label: 'ingest-side cut',
    });
    // Refused events may still be stored: the broker took them but the confirm was lost with
    // the connection. The client's retry with the same id is then absorbed by dedup.
    expect([...result.storedWithout200.values()].every((a) => a === 503)).toBe(true);
    expect(result.accepted).toBeGreaterThanOrEqual(300);
  });

  it('on the consumer side: unacked messages are redelivered, each stored exactly once', async () => {
    const reconciler = new Reconciler('broker-cut-consumer');
    const storedSoFar = async () =>
      (
        await database.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM webhook_events WHERE source = 'broker-cut-consumer'",
        )
      ).rows[0]?.n ?? 0;
    const sending = reconciler.send({ prefix: 'c', count: 2000, concurrency: 20, post });
    await waitFor('the consumer to be storing', async () => (await storedSoFar()) >= 200);
    consumerProxy.cut();
    await waitFor('the consumer to notice', async () => {
      const res = await consumer.app.inject('/readyz');
      return res.json().broker === 'disconnected';
    });
    // The ingest API is unaffected: events keep arriving while the consumer is cut off.
    await waitFor('more events accepted meanwhile', () => reconciler.answers.size >= 1200);
    consumerProxy.restore();
    await sending;

    expect([...reconciler.answers.values()].every((a) => a === 200)).toBe(true);
    const result = await reconciler.expectEveryAcceptedStoredOnce({
      db: database.db,
      admin,
      topology,
      label: 'consumer-side cut',
    });
    expect(result.stored).toBe(2000);
  });
});
