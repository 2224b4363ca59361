import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import {
  type IngestHarness,
  startConsumer,
  startIngest,
  testTopology,
} from '../../../test/helpers/pipeline.js';
import { metricValue } from '../../../test/helpers/prometheus.js';
import { Reconciler } from '../../../test/helpers/reconcile.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { uniqueName } from '../../../test/helpers/test-names.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerService } from '../../consumer/src/consumer-service.js';

// Admission from the real backlog, against the real broker and database: with the consumer
// stopped the main queue grows past MAX_BACKLOG and the API sheds with 503 backlog_full; once
// the consumer runs again it drains and 200s resume, with no restart, and every event answered
// 200 is stored exactly once.

const MAX_BACKLOG = 40;

let database: TestDatabase;
let topology: Topology;
let ingest: IngestHarness;
let consumer: ConsumerService | undefined;
let admin: QueueAdmin;
const logs = captureLogs();
const reconciler = new Reconciler(uniqueName('backlog'));

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology();
  ingest = await startIngest({
    amqpUrl: inject('amqpUrl'),
    topology,
    maxBacklog: MAX_BACKLOG,
    logger: logs.logger,
  });
  admin = await QueueAdmin.connect(inject('amqpUrl'));
});

afterAll(async () => {
  await ingest?.close();
  await consumer?.stop();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

const post = async (body: Record<string, unknown>) => (await ingest.post(body)).statusCode;
let batch = 0;
/** Sends `count` tracked events and returns their answers. */
const send = async (count: number) => {
  const prefix = `b${batch++}`;
  await reconciler.send({ prefix, count, concurrency: 4, post });
  return Array.from({ length: count }, (_, n) => reconciler.answers.get(`${prefix}-${n}`));
};

describe('MAX_BACKLOG', () => {
  it('sheds with 503 backlog_full and a Retry-After once the queue passes the limit, and accepts again once it drains', async () => {
    // No consumer yet: everything accepted waits in the main queue.
    await waitFor('the first backlog read', () => ingest.admission?.state === 'open');
    await waitFor(
      'a 503 once the backlog is past MAX_BACKLOG',
      async () => (await send(10)).includes(503),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(await admin.count(topology.queue)).toBeGreaterThanOrEqual(MAX_BACKLOG);

    // Nothing drains while the consumer is stopped: after a few reads the measured rate is
    // about zero, and the Retry-After the longest, the only honest answer.
    let probes = 0;
    const refused = await waitFor(
      'Retry-After at its bound while nothing drains',
      async () => {
        const answer = await ingest.post({ source: 'probe', type: 'probe', id: `p${probes++}` });
        return answer.headers['retry-after'] === '300' && answer;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(refused.statusCode).toBe(503);
    const body = refused.json();
    expect(body).toMatchObject({ error: 'backlog_full', limit: MAX_BACKLOG });
    expect(body.backlog).toBeGreaterThanOrEqual(MAX_BACKLOG);

    // Alive and shedding, not broken.
    const ready = await ingest.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', admission: 'shedding' });
    const metrics = (await ingest.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metricValue(metrics, 'ingest_backlog_shedding')).toBe(1);
    expect(metricValue(metrics, 'ingest_backlog_messages')).toBeGreaterThanOrEqual(MAX_BACKLOG);
    expect(metricValue(metrics, 'webhooks_rejected_total', { reason: 'backlog_full' })).toBe(
      [...reconciler.answers.values()].filter((a) => a === 503).length + probes,
    );

    consumer = startConsumer({
      amqpUrl: inject('amqpUrl'),
      databaseUrl: database.url,
      topology,
    });
    await waitFor('a 200 again, without a restart', async () => (await send(1))[0] === 200, {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    const again = await ingest.app.inject({ method: 'GET', url: '/readyz' });
    expect(again.json()).toMatchObject({ admission: 'open' });

    const result = await reconciler.reconcile({
      db: database.db,
      admin,
      topology,
      timeoutMs: 30_000,
    });
    expect(result.lost).toEqual([]);
    expect(result.duplicated).toEqual([]);
    expect(result.storedWithout200.size).toBe(0);
    expect(result.stored).toBe(result.accepted);
    expect(result.accepted).toBeGreaterThanOrEqual(MAX_BACKLOG);

    // One line per change: open at the first read, shedding, open again.
    const changes = logs.lines.filter((line) => /backlog (at MAX_BACKLOG|drained)/.test(line.msg));
    expect(changes.map((line) => line.msg)).toEqual([
      'backlog at MAX_BACKLOG: new webhooks are refused with 503',
      'backlog drained: accepting webhooks again',
    ]);
  }, 90_000);
});
