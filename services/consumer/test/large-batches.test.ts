import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startConsumer, testTopology } from '../../../test/helpers/pipeline.js';
import { metricValue } from '../../../test/helpers/prometheus.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerService } from '../src/consumer-service.js';

// 500 messages of about 1 MiB each, all in the queue before the consumer starts, so that it
// takes as many at once as its (default) prefetch allows: 500 MiB in hand. Without a byte cap
// they would make one INSERT of about 500 MiB, past what a JavaScript string can hold.
const COUNT = 500;
const BODY_BYTES = 1_048_576;

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

/** A queue message of `BODY_BYTES` bytes (give or take a few), as the ingest API publishes. */
function largeMessage(id: string): Buffer {
  const envelope = {
    id,
    source: 'large',
    type: 'blob.sent',
    data: { blob: '' },
    timestamp: '2026-05-06T07:08:09.000Z',
    receivedAt: '2026-05-06T07:08:09.000Z',
  };
  const filler = BODY_BYTES - JSON.stringify(envelope).length;
  envelope.data.blob = `${id}:`.padEnd(filler, 'abcdefghijklmnopqrstuvwxyz0123456789');
  return Buffer.from(JSON.stringify(envelope));
}

describe('batches capped in bytes', () => {
  it(`stores ${COUNT} messages of ~1 MiB each with default settings, none retried or dead-lettered`, async () => {
    let next = 0;
    const publisher = async () => {
      for (let i = next++; i < COUNT; i = next++) {
        const id = `large-${i}`;
        await admin.publishRaw(topology.queue, largeMessage(id), {
          messageId: id,
          contentType: 'application/json',
          headers: { 'x-attempt': 1 },
        });
      }
    };
    await Promise.all(Array.from({ length: 8 }, publisher));
    expect(await admin.count(topology.queue)).toBe(COUNT);

    const started = Date.now();
    consumer = startConsumer({
      amqpUrl: inject('amqpUrl'),
      databaseUrl: database.url,
      topology,
    });
    await waitFor(
      `${COUNT} rows`,
      async () => {
        const { rows } = await database.db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM webhook_events WHERE source = 'large'",
        );
        return rows[0]?.n === COUNT;
      },
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    const seconds = (Date.now() - started) / 1000;

    const metrics = (await consumer.app.inject('/metrics')).body;
    const statements = metricValue(metrics, 'insert_batch_size_count');
    const insertSeconds = metricValue(metrics, 'insert_duration_seconds_sum');
    console.error(
      `large batches: ${COUNT} × ${BODY_BYTES} bytes stored in ${seconds.toFixed(1)} s with ${statements} INSERTs taking ${insertSeconds.toFixed(1)} s`,
    );
    expect(metricValue(metrics, 'messages_retried_total')).toBe(0);
    expect(metricValue(metrics, 'messages_dead_lettered_total')).toBe(0);
    expect(metricValue(metrics, 'messages_acked_total')).toBe(COUNT);
    expect(await admin.count(topology.deadLetterQueue)).toBe(0);
    // 16 MiB (the default BATCH_MAX_BYTES) holds 16 of these, not 500.
    expect(statements).toBeGreaterThanOrEqual(Math.ceil(COUNT / 16));
    const sample = await database.db.query<{ length: number }>(
      "SELECT length(data->>'blob') AS length FROM webhook_events WHERE event_id = 'large-7'",
    );
    expect(sample.rows[0]?.length).toBeGreaterThan(BODY_BYTES - 200);
  }, 300_000);
});
