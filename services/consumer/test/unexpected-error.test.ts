import type { EventRow } from '@webhooks/db';
import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startConsumer, testTopology } from '../../../test/helpers/pipeline.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerService } from '../src/consumer-service.js';

// A bug planted in the consumer's store step: any batch holding an event whose id starts with
// `bug-` throws a TypeError, as code that misreads its input would. Everything else is real:
// the broker, the retry queues, the database.
const bugCalls = vi.hoisted(() => ({ count: 0 }));
vi.mock('../src/pipeline/store-batch.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/pipeline/store-batch.js')>();
  return {
    ...actual,
    storeBatch: (rows: readonly EventRow[], insert: Parameters<typeof actual.storeBatch>[1]) => {
      if (rows.some((row) => row.eventId.startsWith('bug-'))) {
        bugCalls.count += 1;
        throw new TypeError("Cannot read properties of undefined (reading 'planted')");
      }
      return actual.storeBatch(rows, insert);
    },
  };
});

let database: TestDatabase;
let topology: Topology;
let admin: QueueAdmin;
let consumer: ConsumerService;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology({ retryDelaysMs: [200, 400] });
  admin = await QueueAdmin.connect(inject('amqpUrl'));
  await admin.declareTopology(topology);
  consumer = startConsumer({ amqpUrl: inject('amqpUrl'), databaseUrl: database.url, topology });
});

afterAll(async () => {
  await consumer?.stop();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

const publish = (id: string) =>
  admin.publishRaw(
    topology.queue,
    Buffer.from(
      JSON.stringify({
        id,
        source: 'bug',
        type: 't',
        data: {},
        timestamp: '2026-05-06T07:08:09.000Z',
        receivedAt: '2026-05-06T07:08:09.000Z',
      }),
    ),
    { messageId: id, headers: { 'x-attempt': 1 } },
  );

const stored = async () =>
  (
    await database.db.query<{ event_id: string }>(
      "SELECT event_id FROM webhook_events WHERE source = 'bug' ORDER BY event_id",
    )
  ).rows.map((r) => r.event_id);

describe('an unexpected error while processing a batch', () => {
  it('sends the batch down the retry path; a bug that repeats ends in the DLQ with its reason', async () => {
    await publish('fine-1');
    await waitFor('the healthy event stored', async () => (await stored()).includes('fine-1'));

    await publish('bug-1');
    const [dead] = await waitFor('the dead letter', async () => {
      const messages = await admin.peek(topology.deadLetterQueue, 10);
      return messages.length > 0 ? messages : undefined;
    });
    expect(dead?.properties.messageId).toBe('bug-1');
    expect(dead?.headers['x-death-reason']).toBe('retries_exhausted');
    expect(dead?.headers['x-attempts']).toBe(3);
    expect(String(dead?.headers['x-last-error'])).toBe(
      "BATCH_PROCESSING_FAILED: unexpected error while processing the batch: TypeError: Cannot read properties of undefined (reading 'planted')",
    );
    // One try per delivery: the first and one per retry queue, then no more (no loop).
    expect(bugCalls.count).toBe(3);
    for (const queue of [topology.queue, ...topology.retryQueues.map((q) => q.name)]) {
      expect(await admin.count(queue)).toBe(0);
    }

    // The consumer carries on: the next healthy event is stored as usual.
    await publish('fine-2');
    await waitFor('the next healthy event stored', async () => (await stored()).includes('fine-2'));
    expect(await stored()).toEqual(['fine-1', 'fine-2']);
    expect(bugCalls.count).toBe(3);
  });
});
