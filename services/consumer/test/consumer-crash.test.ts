import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../test/helpers/free-port.js';
import { type IngestHarness, startIngest, testTopology } from '../../../test/helpers/pipeline.js';
import { metricValue } from '../../../test/helpers/prometheus.js';
import { Reconciler } from '../../../test/helpers/reconcile.js';
import { type ServiceProcess, startService } from '../../../test/helpers/service-process.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';

let database: TestDatabase;
let topology: Topology;
let ingest: IngestHarness;
let admin: QueueAdmin;
const running = new Set<ServiceProcess>();

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology();
  ingest = await startIngest({ amqpUrl: inject('amqpUrl'), topology });
  admin = await QueueAdmin.connect(inject('amqpUrl'));
});

afterAll(async () => {
  for (const service of running) service.child.kill('SIGKILL');
  await ingest?.close();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

async function startConsumerProcess(): Promise<{ service: ServiceProcess; port: number }> {
  const port = await freePort();
  const service = startService('consumer', {
    PORT: String(port),
    HOST: '127.0.0.1',
    AMQP_URL: inject('amqpUrl'),
    DATABASE_URL: database.url,
    EXCHANGE_NAME: topology.exchange,
    QUEUE_NAME: topology.queue,
    QUEUE_TYPE: topology.queueType,
    // Small batches, so a kill lands between many of them.
    BATCH_SIZE: '50',
    PREFETCH: '200',
  });
  running.add(service);
  void service.exited.then(() => running.delete(service));
  await waitFor(
    'the consumer to be ready',
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
    { timeoutMs: 20_000, intervalMs: 100 },
  );
  return { service, port };
}

const counts = async () =>
  (
    await database.db.query<{ rows: number; distinct_ids: number }>(
      "SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS distinct_ids FROM webhook_events WHERE source = 'crash'",
    )
  ).rows[0];

describe('the consumer process', () => {
  it('killed with SIGKILL mid-stream and restarted: every event answered 200 is stored exactly once', async () => {
    const accepted = new Set<string>();
    const send = async (from: number, count: number) => {
      const responses = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          ingest.post({
            source: 'crash',
            type: 'test',
            id: `c-${from + i}`,
            data: { i: from + i },
          }),
        ),
      );
      responses.forEach((r, i) => {
        if (r.statusCode === 200) accepted.add(`c-${from + i}`);
      });
    };

    const first = await startConsumerProcess();
    let sent = 0;
    // Keep events flowing until the consumer is visibly mid-stream, then kill it.
    await waitFor(
      'the consumer to be storing',
      async () => {
        await send(sent, 200);
        sent += 200;
        return ((await counts())?.rows ?? 0) >= 300;
      },
      { timeoutMs: 20_000, intervalMs: 0 },
    );
    first.service.child.kill('SIGKILL');
    expect(await first.service.exited).toBe('SIGKILL');
    const atKill = (await counts())?.rows ?? 0;
    await send(sent, 1000);
    sent += 1000;
    expect(accepted.size).toBe(sent);
    expect(atKill).toBeLessThan(sent);

    const second = await startConsumerProcess();
    await waitFor(
      'every accepted event stored',
      async () => (await counts())?.rows === accepted.size,
      {
        timeoutMs: 30_000,
      },
    );
    await waitFor('the queue to drain', async () => (await admin.count(topology.queue)) === 0);
    expect(await counts()).toEqual({ rows: accepted.size, distinct_ids: accepted.size });
    expect(await admin.count(topology.deadLetterQueue)).toBe(0);

    second.service.child.kill('SIGTERM');
    expect(await second.service.exited).toBe(0);
    expect(second.service.output()).toContain('shutdown complete');
  });

  it('stopped with SIGTERM while batches are in flight, then restarted: every event answered 200 is stored exactly once', async () => {
    const source = 'sigterm';
    const storedCount = async () =>
      (
        await database.db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM webhook_events WHERE source = $1',
          [source],
        )
      ).rows[0]?.n ?? 0;
    const reconciler = new Reconciler(source);
    await reconciler.send({
      prefix: 'term',
      count: 2000,
      concurrency: 50,
      post: async (body) => (await ingest.post(body)).statusCode,
    });
    expect(reconciler.acceptedIds()).toHaveLength(2000);

    // Every insert statement takes 200 ms, so batches are in the consumer's hands, stored or
    // being stored, when the signal comes; the rest of the backlog is still in the queue.
    await database.db.query(`
      CREATE FUNCTION slow_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(0.2); RETURN NULL; END $$;
      CREATE TRIGGER slow_inserts BEFORE INSERT ON webhook_events
        FOR EACH STATEMENT EXECUTE FUNCTION slow_inserts();`);
    const first = await startConsumerProcess();
    await waitFor('the consumer to be storing', async () => (await storedCount()) >= 200, {
      timeoutMs: 20_000,
    });
    const metrics = await (await fetch(`http://127.0.0.1:${first.port}/metrics`)).text();
    const inFlight =
      metricValue(metrics, 'messages_consumed_total') -
      metricValue(metrics, 'messages_acked_total');
    expect(inFlight, 'messages delivered and not yet acked at SIGTERM').toBeGreaterThan(0);
    first.service.child.kill('SIGTERM');
    expect(await first.service.exited).toBe(0);
    expect(first.service.output()).toContain('shutdown complete');
    await database.db.query('DROP TRIGGER slow_inserts ON webhook_events');

    // What it held it stored and acked before it went: each event is now either stored or
    // back in the queue, none both (stored, not acked) and none neither (acked, not stored).
    const storedAtExit = await storedCount();
    expect(storedAtExit).toBeLessThan(2000);
    await waitFor(
      'each event stored or in the queue, once',
      async () => storedAtExit + (await admin.count(topology.queue)) === 2000,
      { timeoutMs: 5000 },
    );

    const second = await startConsumerProcess();
    await reconciler.expectEveryAcceptedStoredOnce({ db: database.db, admin, topology });
    expect(await storedCount()).toBe(2000);
    second.service.child.kill('SIGTERM');
    expect(await second.service.exited).toBe(0);
  }, 60_000);

  it('refuses to start on bad settings, naming every bad variable at once', async () => {
    const service = startService('consumer', {
      DATABASE_URL: 'mysql://nope',
      BATCH_SIZE: '0',
      RETRY_DELAYS_MS: '1000,soon',
    });
    expect(await service.exited).toBe(1);
    for (const name of ['DATABASE_URL', 'BATCH_SIZE', 'RETRY_DELAYS_MS']) {
      expect(service.output()).toContain(name);
    }
  });
});
