import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startConsumer, testTopology } from '../../../test/helpers/pipeline.js';
import { metricValue } from '../../../test/helpers/prometheus.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerService } from '../src/consumer-service.js';

// Small events first, so that the subscription's window grows to hundreds of messages, then
// large ones, all in the queue before the consumer starts: with only PREFETCH (1,000) to stop
// it, the consumer would take all 30 large bodies at once, 27 MB.
const SMALL = 200;
const LARGE = 30;
const LARGE_BYTES = 900 * 1024;
const MAX_UNACKED_BYTES = 2 * 1024 * 1024;

let database: TestDatabase;
let topology: Topology;
let admin: QueueAdmin;
let consumer: ConsumerService | undefined;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology();
  admin = await QueueAdmin.connect(inject('amqpUrl'));
  await admin.declareTopology(topology);
});

afterAll(async () => {
  await consumer?.stop();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

/** A queue message as the ingest API publishes it, its `data` filled up to about `bytes`. */
function message(id: string, bytes: number): Buffer {
  const lines: Array<{ sku: string; qty: number; note: string }> = [];
  const envelope = {
    id,
    source: 'bound',
    type: 'order.created',
    data: { lines },
    timestamp: '2026-05-06T07:08:09.000Z',
    receivedAt: '2026-05-06T07:08:09.000Z',
  };
  let size = JSON.stringify(envelope).length;
  while (size < bytes) {
    const line = { sku: `SKU-${lines.length}`, qty: lines.length % 7, note: 'gift wrap' };
    lines.push(line);
    size += JSON.stringify(line).length + 1;
  }
  return Buffer.from(JSON.stringify(envelope));
}

async function publish(id: string, body: Buffer): Promise<void> {
  await admin.publishRaw(topology.queue, body, {
    messageId: id,
    contentType: 'application/json',
    headers: { 'x-attempt': 1 },
  });
}

describe('the bytes the consumer holds unacked', () => {
  it(`stay within PREFETCH_MAX_BYTES plus one message, with ${LARGE} bodies of 900 KiB behind small ones; all stored, none retried or dead-lettered`, async () => {
    for (let i = 0; i < SMALL; i++) await publish(`small-${i}`, message(`small-${i}`, 300));
    const large = message('large-x', LARGE_BYTES);
    for (let i = 0; i < LARGE; i++) {
      await publish(`large-${i}`, message(`large-${i}`, LARGE_BYTES));
    }
    expect(await admin.count(topology.queue)).toBe(SMALL + LARGE);

    consumer = startConsumer({
      amqpUrl: inject('amqpUrl'),
      databaseUrl: database.url,
      topology,
      env: { PREFETCH_MAX_BYTES: String(MAX_UNACKED_BYTES) },
    });
    // Every value the consumer's gauge takes: it is set on each delivery taken and settled.
    let peakBytes = 0;
    const gauge = consumer.metrics.unackedBytes;
    const set = gauge.set.bind(gauge);
    vi.spyOn(gauge, 'set').mockImplementation((value: number) => {
      peakBytes = Math.max(peakBytes, value);
      set(value);
    });

    await waitFor(
      `${SMALL + LARGE} rows`,
      async () => {
        const { rows } = await database.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM webhook_events WHERE source = 'bound'",
        );
        return rows[0]?.n === SMALL + LARGE;
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );

    expect(peakBytes).toBeLessThanOrEqual(MAX_UNACKED_BYTES + large.length);
    // It did hold large bodies (two of them fit under the bound): the gauge saw the load.
    expect(peakBytes).toBeGreaterThanOrEqual(2 * LARGE_BYTES);

    // Acks follow the commit: wait for the last of them before reading the rest.
    const service = consumer;
    const metrics = await waitFor('every message acked', async () => {
      const text = (await service.app.inject('/metrics')).body;
      return metricValue(text, 'messages_acked_total') === SMALL + LARGE && text;
    });
    expect(metricValue(metrics, 'messages_retried_total')).toBe(0);
    expect(metricValue(metrics, 'messages_dead_lettered_total')).toBe(0);
    expect(metricValue(metrics, 'unacked_bytes')).toBe(0);
    // Large bodies sent in the small ones' window were handed back, and taken again later.
    expect(metricValue(metrics, 'messages_returned_unread_total')).toBeGreaterThan(0);
    expect(await admin.count(topology.deadLetterQueue)).toBe(0);
    expect(await admin.count(topology.queue)).toBe(0);
  }, 180_000);
});
