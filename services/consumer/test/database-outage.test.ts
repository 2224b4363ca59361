import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FaultProxy } from '../../../test/helpers/fault-proxy.js';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import {
  type IngestHarness,
  startConsumer,
  startIngest,
  testTopology,
} from '../../../test/helpers/pipeline.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerService } from '../src/consumer-service.js';

/** How long the database stays cut off: longer than every retry delay added up (7 s). */
const OUTAGE_MS = 11_000;

let database: TestDatabase;
let proxy: FaultProxy;
let topology: Topology;
let ingest: IngestHarness;
let consumer: ConsumerService;
let admin: QueueAdmin;
const logs = captureLogs('info');

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  const front = await FaultProxy.inFrontOf(database.url, 5432);
  proxy = front.proxy;
  topology = testTopology();
  const amqpUrl = inject('amqpUrl');
  ingest = await startIngest({ amqpUrl, topology });
  consumer = startConsumer({ amqpUrl, databaseUrl: front.url, topology, logger: logs.logger });
  admin = await QueueAdmin.connect(amqpUrl);
});

afterAll(async () => {
  await ingest?.close();
  await consumer?.stop();
  await proxy?.close();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

const rows = async () =>
  (await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_events')).rows[0]
    ?.n;

describe('database outage', () => {
  it('holds messages while the database is cut off for more than 10 s, dead-letters none, stores all after', async () => {
    const send = async (from: number, count: number) => {
      const responses = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          ingest.post({
            source: 'outage',
            type: 'test',
            id: `ev-${from + i}`,
            data: { i: from + i },
          }),
        ),
      );
      expect(responses.every((r) => r.statusCode === 200)).toBe(true);
    };
    await send(0, 50);
    await waitFor('the first 50 rows', async () => (await rows()) === 50);

    proxy.cut();
    await send(50, 200);
    await waitFor('readyz to report the database unreachable', async () => {
      const res = await consumer.app.inject('/readyz');
      return res.statusCode === 503 && res.json().database === 'unreachable';
    });
    await waitFor('the circuit to open', () =>
      logs.lines.some((l) => l.msg.includes('circuit open')),
    );
    // The outage itself: events keep arriving while the database stays away.
    const outageEnds = Date.now() + OUTAGE_MS;
    let next = 250;
    while (Date.now() < outageEnds) {
      await send(next, 25);
      next += 25;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(await admin.count(topology.deadLetterQueue)).toBe(0);

    proxy.restore();
    await waitFor('every event stored', async () => (await rows()) === next, { timeoutMs: 20_000 });
    expect(logs.lines.some((l) => l.msg.includes('circuit closed'))).toBe(true);
    expect(await admin.count(topology.deadLetterQueue)).toBe(0);
    for (const retry of topology.retryQueues) expect(await admin.count(retry.name)).toBe(0);
    expect((await consumer.app.inject('/readyz')).statusCode).toBe(200);
  });
});
