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
import { uniqueName } from '../helpers/test-names.js';
import { waitFor } from '../helpers/wait-for.js';

// The consumer's broker connection is cut, again and again, during a burst: batches are cut
// off between their commit and their publish to the events exchange, or between the publish
// and the ack. Every stored event must still reach the events exchange at least once (its
// redelivered message, finding the row stored, publishes it).
const SOURCE = 'fanout-cut';
const exchange = uniqueName('test_events');
const boundQueue = uniqueName('test_events_cut');

let database: TestDatabase;
let topology: Topology;
let consumerProxy: FaultProxy;
let ingest: IngestHarness;
let consumer: ConsumerService;
let admin: QueueAdmin;

beforeAll(async () => {
  const amqpUrl = inject('amqpUrl');
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology();
  admin = await QueueAdmin.connect(amqpUrl);
  await admin.bindToEventsExchange({ exchange, queue: boundQueue, pattern: `${SOURCE}.#` });
  const consumerFront = await FaultProxy.inFrontOf(amqpUrl, 5672);
  consumerProxy = consumerFront.proxy;
  ingest = await startIngest({ amqpUrl, topology });
  consumer = startConsumer({
    amqpUrl: consumerFront.url,
    databaseUrl: database.url,
    topology,
    env: { BATCH_SIZE: '50', PREFETCH: '200', EVENTS_EXCHANGE: exchange },
  });
});

afterAll(async () => {
  await ingest?.close();
  await consumer?.stop();
  await consumerProxy?.close();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.deleteQueue(boundQueue).catch(() => {});
  await admin?.deleteExchange(exchange).catch(() => {});
  await admin?.close();
  await database?.drop();
});

async function storedCount(): Promise<number> {
  const result = await database.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM webhook_events WHERE source = $1',
    [SOURCE],
  );
  return result.rows[0]?.n ?? 0;
}

/** `webhook-id` → event id of every stored row of the source. */
async function storedWebhookIds(): Promise<Map<string, string>> {
  const result = await database.db.query<{ id: string; event_id: string }>(
    'SELECT id, event_id FROM webhook_events WHERE source = $1',
    [SOURCE],
  );
  return new Map(result.rows.map((r) => [`msg_${r.id}`, r.event_id]));
}

describe('events exchange: consumer broker connection cut during a burst', () => {
  it('every stored event is published at least once, under the webhook-id of its row', async () => {
    const reconciler = new Reconciler(SOURCE);
    const post = async (body: Record<string, unknown>) => (await ingest.post(body)).statusCode;
    const sending = reconciler.send({ prefix: 'f', count: 2000, concurrency: 20, post });
    for (const storedAtLeast of [200, 700, 1200]) {
      await waitFor(
        'the consumer to be storing',
        async () => (await storedCount()) >= storedAtLeast,
        {
          timeoutMs: 20_000,
        },
      );
      consumerProxy.cut();
      await waitFor('the consumer to notice', async () => {
        const res = await consumer.app.inject('/readyz');
        return res.json().broker === 'disconnected';
      });
      consumerProxy.restore();
    }
    await sending;
    const result = await reconciler.expectEveryAcceptedStoredOnce({
      db: database.db,
      admin,
      topology,
      label: 'events exchange, consumer-side cuts',
    });
    expect(result.stored).toBe(2000);

    const stored = await storedWebhookIds();
    const copies = await waitFor(
      'a copy of every stored event on the events exchange',
      async () => {
        const messages = await admin.peek(boundQueue, 1_000_000);
        const published = new Set(messages.map((m) => String(m.headers['webhook-id'])));
        return [...stored.keys()].every((id) => published.has(id)) ? messages : undefined;
      },
      { timeoutMs: 30_000 },
    );
    // Every copy names a stored row and carries that row's event; duplicates only repeat one.
    for (const copy of copies) {
      const webhookId = String(copy.headers['webhook-id']);
      expect(JSON.parse(copy.body.toString()).id).toBe(stored.get(webhookId));
    }
    const failures = (await consumer.metrics.eventsPublishFailures.get()).values;
    console.error(
      `events exchange, consumer-side cuts: ${stored.size} stored, ${copies.length} copies ` +
        `(${copies.length - stored.size} repeated), failed publishes ${JSON.stringify(
          failures.map((f) => [f.labels.reason, f.value]),
        )}`,
    );
  });
});
