import { EventsRepository } from '@webhooks/db';
import { type InspectedMessage, QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startConsumer, testTopology } from '../../../test/helpers/pipeline.js';
import { type PipelineFixture, startPipeline } from '../../../test/helpers/pipeline-fixture.js';
import { createTestDatabase } from '../../../test/helpers/test-database.js';
import { uniqueName } from '../../../test/helpers/test-names.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerMetrics } from '../src/pipeline/consumer-metrics.js';

// Every stored event is also published to the events exchange (a topic exchange of this
// test's own), before its message is acked. A queue of the test's own is bound to it.
const exchange = uniqueName('test_events');
const shopQueue = uniqueName('test_events_shop');
const blockedQueue = uniqueName('test_events_blocked');
const refusingQueue = uniqueName('test_events_refusing');

let fixture: PipelineFixture;
let admin: QueueAdmin;

beforeAll(async () => {
  admin = await QueueAdmin.connect(inject('amqpUrl'));
  await admin.bindToEventsExchange({ exchange, queue: shopQueue, pattern: 'shop.#' });
  await admin.bindToEventsExchange({ exchange, queue: blockedQueue, pattern: 'blocked.#' });
  fixture = await startPipeline({ consumerEnv: { EVENTS_EXCHANGE: exchange } });
});

afterAll(async () => {
  await fixture?.close();
  for (const queue of [shopQueue, blockedQueue, refusingQueue]) {
    await admin?.deleteQueue(queue).catch(() => {});
  }
  await admin?.deleteExchange(exchange).catch(() => {});
  await admin?.close();
});

/** POSTs JSON text as is: `inject` would run an object through JSON.stringify. */
function postText(text: string) {
  return fixture.ingest.app.inject({
    method: 'POST',
    url: '/webhook',
    headers: { 'content-type': 'application/json' },
    payload: text,
  });
}

/** Waits for the messages of `queue` whose event has this id, at least `count` of them. */
function publishedCopies(queue: string, eventId: string, count = 1): Promise<InspectedMessage[]> {
  return waitFor(`${count} published cop(ies) of ${eventId}`, async () => {
    const messages = (await admin.peek(queue, 10_000)).filter(
      (m) => JSON.parse(m.body.toString()).id === eventId,
    );
    return messages.length >= count ? messages : undefined;
  });
}

async function rowId(source: string, eventId: string): Promise<string> {
  const row = await waitFor(`the row ${source}/${eventId}`, async () => {
    const result = await fixture.database.db.query<{ id: string }>(
      'SELECT id FROM webhook_events WHERE source = $1 AND event_id = $2',
      [source, eventId],
    );
    return result.rows[0];
  });
  return row.id;
}

async function total(metric: { get(): Promise<{ values: Array<{ value: number }> }> }) {
  return (await metric.get()).values.reduce((sum, sample) => sum + sample.value, 0);
}

async function failures(metrics: ConsumerMetrics, reason: string): Promise<number> {
  const { values } = await metrics.eventsPublishFailures.get();
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('events exchange: every stored event is published before its message is acked', () => {
  it('publishes the event as stored: exact data, routing key, headers, webhook-id naming the row', async () => {
    const res = await postText(
      '{"source":"shop","type":"order.paid","id":"ord-1","timestamp":"2026-03-04T05:06:07.890+01:00","data":{"id":820982911946154508,"n":12345678901234567890,"weight":1.10}}',
    );
    expect(res.statusCode).toBe(200);
    const [copy] = await publishedCopies(shopQueue, 'ord-1');
    const id = await rowId('shop', 'ord-1');

    expect(copy?.body.toString()).toBe(
      '{"id":"ord-1","source":"shop","type":"order.paid","timestamp":"2026-03-04T04:06:07.890000Z","data":{"id":820982911946154508,"n":12345678901234567890,"weight":1.10}}',
    );
    expect(copy?.routingKey).toBe('shop.order.paid');
    expect(copy?.properties).toMatchObject({
      messageId: `msg_${id}`,
      contentType: 'application/json',
      deliveryMode: 2,
    });
    expect(copy?.headers).toEqual({
      'webhook-id': `msg_${id}`,
      'x-source': 'shop',
      'x-type': 'order.paid',
      'x-request-id': res.headers['x-request-id'],
    });
  });

  it('an event no queue is bound for is stored, published all the same, and acked', async () => {
    const { metrics } = fixture.consumer;
    const before = {
      acked: await total(metrics.acked),
      published: await total(metrics.eventsPublished),
    };
    const res = await postText('{"source":"nobody-listens","type":"t","id":"lonely-1"}');
    expect(res.statusCode).toBe(200);
    await rowId('nobody-listens', 'lonely-1');
    await waitFor('the message acked', async () => (await total(metrics.acked)) > before.acked);
    expect(await total(metrics.eventsPublished)).toBe(before.published + 1);
  });

  it('a source and type too long for a routing key are cut to 255 bytes; the headers keep them whole', async () => {
    const type = '€'.repeat(255);
    const res = await postText(JSON.stringify({ source: 'shop', type, id: 'long-1' }));
    expect(res.statusCode).toBe(200);
    const [copy] = await publishedCopies(shopQueue, 'long-1');

    // "shop." is 5 bytes and each "€" 3: 83 of them fill 254 bytes, an 84th would not fit.
    expect(copy?.routingKey).toBe(`shop.${'€'.repeat(83)}`);
    expect(Buffer.byteLength(copy?.routingKey ?? '')).toBe(254);
    expect(copy?.headers).toMatchObject({ 'x-source': 'shop', 'x-type': type });
    expect(JSON.parse(copy?.body.toString() ?? '{}')).toMatchObject({ source: 'shop', type });
  });

  it('an event found already stored (the consumer died before publishing) is published again, with its data as stored', async () => {
    // As if the consumer had committed this row and died before publishing it.
    const events = new EventsRepository(fixture.database.db);
    const { stored } = await events.insertBatch([
      {
        eventId: 'crash-1',
        source: 'shop',
        type: 'order.refunded',
        data: { amount: 5 },
        timestamp: '2026-05-06T07:08:09.123Z',
      },
    ]);
    const id = stored[0]?.id;
    // Its message comes again; then a repeat of the event with other data. Each is published.
    for (const [n, amount] of [5, 999].entries()) {
      await admin.publishRaw(
        fixture.topology.queue,
        Buffer.from(
          `{"source":"shop","type":"order.refunded","id":"crash-1","data":{"amount":${amount}},"timestamp":"2026-05-06T07:08:09.123Z"}`,
        ),
        { headers: { 'x-request-id': `req-${amount}` } },
      );
      await publishedCopies(shopQueue, 'crash-1', n + 1);
    }

    const copies = await publishedCopies(shopQueue, 'crash-1', 2);
    for (const copy of copies) {
      expect(copy.headers['webhook-id']).toBe(`msg_${id}`);
      expect(JSON.parse(copy.body.toString())).toEqual({
        id: 'crash-1',
        source: 'shop',
        type: 'order.refunded',
        timestamp: '2026-05-06T07:08:09.123000Z',
        data: { amount: 5 },
      });
    }
    expect(copies.map((c) => c.headers['x-request-id']).sort()).toEqual(['req-5', 'req-999']);
    const rows = await fixture.database.db.query(
      "SELECT 1 FROM webhook_events WHERE event_id = 'crash-1'",
    );
    expect(rows.rowCount).toBe(1);
  });

  it('a publish the broker refuses requeues the message: never retried nor dead-lettered, published once taken', async () => {
    const { metrics } = fixture.consumer;
    const { topology } = fixture;
    // A queue that refuses every message (nack to the publisher) bound beside blockedQueue.
    await admin.bindToEventsExchange({
      exchange,
      queue: refusingQueue,
      pattern: 'blocked.#',
      queueArguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
    });
    const nacksBefore = await failures(metrics, 'nack');
    const ackedBefore = await total(metrics.acked);
    expect((await postText('{"source":"blocked","type":"t","id":"refused-1"}')).statusCode).toBe(
      200,
    );
    const id = await rowId('blocked', 'refused-1');
    await waitFor(
      'refused publishes',
      async () => (await failures(metrics, 'nack')) >= nacksBefore + 3,
    );
    // Stored, and going round: not acked, not moved to a retry queue or the DLQ.
    expect(await total(metrics.acked)).toBe(ackedBefore);
    for (const queue of [topology.deadLetterQueue, ...topology.retryQueues.map((q) => q.name)]) {
      expect(await admin.count(queue)).toBe(0);
    }

    await admin.deleteQueue(refusingQueue);
    await waitFor('the message acked', async () => (await total(metrics.acked)) > ackedBefore);
    const copies = await publishedCopies(blockedQueue, 'refused-1');
    expect(new Set(copies.map((c) => c.headers['webhook-id']))).toEqual(new Set([`msg_${id}`]));
    for (const queue of [topology.deadLetterQueue, ...topology.retryQueues.map((q) => q.name)]) {
      expect(await admin.count(queue)).toBe(0);
    }
    const rows = await fixture.database.db.query(
      "SELECT 1 FROM webhook_events WHERE event_id = 'refused-1'",
    );
    expect(rows.rowCount).toBe(1);
  });
});

describe('EVENTS_EXCHANGE empty', () => {
  let topology: Topology;

  afterAll(async () => {
    if (topology !== undefined) await admin.deleteTopology(topology).catch(() => {});
  });

  it('stores and acks, and publishes nothing (not to the default exchange either)', async () => {
    const database = await createTestDatabase(inject('databaseUrl'));
    topology = testTopology();
    await admin.declareTopology(topology);
    const source = uniqueName('off');
    const watcher = uniqueName('test_events_default');
    // The default exchange, declared as the consumer would; only this test's source is bound.
    await admin.bindToEventsExchange({
      exchange: 'webhooks.events',
      queue: watcher,
      pattern: `${source}.#`,
    });
    const consumer = startConsumer({
      amqpUrl: inject('amqpUrl'),
      databaseUrl: database.url,
      topology,
      env: { EVENTS_EXCHANGE: '' },
    });
    try {
      await admin.publishRaw(
        topology.queue,
        Buffer.from(JSON.stringify({ source, type: 't', id: 'quiet-1' })),
      );
      await waitFor('the message acked', async () => (await total(consumer.metrics.acked)) === 1);
      expect(await admin.count(watcher)).toBe(0);
      expect(await total(consumer.metrics.eventsPublished)).toBe(0);
      const rows = await database.db.query(
        "SELECT 1 FROM webhook_events WHERE event_id = 'quiet-1'",
      );
      expect(rows.rowCount).toBe(1);
    } finally {
      await consumer.stop();
      await admin.deleteQueue(watcher);
      await database.drop();
    }
  });
});
