import { QueueAdmin, settingsOfTopology, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectEveryStoredDelivered } from '../helpers/delivery-reconcile.js';
import { freePort } from '../helpers/free-port.js';
import { type IngestHarness, startIngest, testTopology } from '../helpers/pipeline.js';
import { Reconciler } from '../helpers/reconcile.js';
import { type ServiceProcess, startService } from '../helpers/service-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { insertSubscription, newSecret } from '../helpers/test-subscription.js';
import { waitFor } from '../helpers/wait-for.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

// A consumer process that stores and delivers is killed with SIGKILL while deliveries are in
// flight to a slow subscriber, and a new one started. The deliveries it had leased (sent or
// being sent, outcome unrecorded) come due when their lease ends and are sent again with the
// same webhook-id: every stored event reaches the subscriber at least once, exactly once after
// its dedup by webhook-id.
let database: TestDatabase;
let topology: Topology;
let ingest: IngestHarness;
let admin: QueueAdmin;
const running = new Set<ServiceProcess>();
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology();
  ingest = await startIngest({ amqpUrl: inject('amqpUrl'), topology });
  admin = await QueueAdmin.connect(inject('amqpUrl'));
});

afterAll(async () => {
  for (const service of running) service.child.kill('SIGKILL');
  await ingest?.close();
  for (const receiver of receivers) await receiver.close();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

async function startConsumerProcess(): Promise<ServiceProcess> {
  const port = await freePort();
  const service = startService('consumer', {
    PORT: String(port),
    HOST: '127.0.0.1',
    AMQP_URL: inject('amqpUrl'),
    DATABASE_URL: database.url,
    ...settingsOfTopology(topology),
    BATCH_SIZE: '50',
    PREFETCH: '200',
    DELIVERY_POLL_MS: '20',
    // A killed process's leases end 1.5 s after they were taken (timeout 1 s + this), not 31 s.
    DELIVERY_LEASE_MARGIN_MS: '500',
  });
  running.add(service);
  void service.exited.then(() => running.delete(service));
  await waitFor(
    'the consumer to be ready',
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
    { timeoutMs: 20_000, intervalMs: 100 },
  );
  return service;
}

const leasedNow = async () =>
  (
    await database.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM deliveries
       WHERE status = 'pending' AND leased_until > now()`,
    )
  ).rows[0]?.n ?? 0;

describe('a consumer process killed while delivering', () => {
  it('SIGKILL with deliveries in flight, then a new process: every stored event received at least once, once after dedup by webhook-id', async () => {
    const source = 'delivery-crash';
    const secret = newSecret();
    let n = 0;
    // Answers after 20-50 ms, so up to maxInFlight deliveries are open at the receiver at once.
    const receiver = await WebhookReceiver.start({
      secrets: [secret],
      respond: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20 + ((n++ * 7) % 31)));
        return 200;
      },
    });
    receivers.push(receiver);
    const subscription = await insertSubscription(database.db, {
      url: receiver.url,
      secret,
      sources: [source],
      timeoutMs: 1000,
      maxInFlight: 20,
      retryDelaysMs: [200, 400, 800, 1600],
    });

    const first = await startConsumerProcess();
    const reconciler = new Reconciler(source);
    const sending = reconciler.send({
      prefix: 'k',
      count: 1000,
      concurrency: 20,
      post: async (body) => (await ingest.post(body)).statusCode,
    });
    await waitFor(
      'deliveries in flight, a good part of them done',
      () =>
        receiver.received.length >= 300 && receiver.received.some((d) => d.answer === undefined),
      { timeoutMs: 20_000, intervalMs: 1 },
    );
    // Open at the receiver now, answered only after the kill: the killed process never read
    // those answers (no timer runs between this line and the kill). An id acknowledged already
    // (an earlier attempt timed out on a busy machine, and a retry got through) is left out.
    const acknowledged = new Set(
      receiver.received.filter((d) => d.answered).map((d) => d.webhookId),
    );
    const openAtKill = receiver.received.filter(
      (d) => d.answer === undefined && !acknowledged.has(d.webhookId),
    );
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const receivedAtKill = receiver.received.length;
    expect(openAtKill.length, 'deliveries open at the receiver at the kill').toBeGreaterThan(0);
    // What it had open, sent or not, is leased and unrecorded.
    expect(await leasedNow(), 'deliveries the killed process held leased').toBeGreaterThan(0);
    await sending;
    expect(reconciler.acceptedIds()).toHaveLength(1000);
    expect(receivedAtKill).toBeLessThan(1000);

    const second = await startConsumerProcess();
    await reconciler.expectEveryAcceptedStoredOnce({
      db: database.db,
      admin,
      topology,
      label: 'stored across the kill',
    });
    const result = await expectEveryStoredDelivered({
      db: database.db,
      source,
      subscriptionId: subscription.id,
      receiver,
      expectedStored: 1000,
      label: 'delivered across the kill',
    });
    // Those open at the kill were received again, with the same webhook-id.
    const receivedAfter = new Set(receiver.received.slice(receivedAtKill).map((d) => d.webhookId));
    const notResent = openAtKill.filter((d) => !receivedAfter.has(d.webhookId));
    expect(
      notResent.map((d) => d.webhookId),
      `open at the kill (${openAtKill.length}) and not sent again; duplicates ${result.duplicates}`,
    ).toEqual([]);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.output()).toContain('shutdown complete');
  }, 60_000);
});
