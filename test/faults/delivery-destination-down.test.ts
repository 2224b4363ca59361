import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEveryStoredDelivered, storedWebhookIds } from '../helpers/delivery-reconcile.js';
import { type PipelineFixture, startPipeline } from '../helpers/pipeline-fixture.js';
import { Reconciler } from '../helpers/reconcile.js';
import {
  insertSubscription,
  newSecret,
  type TestSubscription,
} from '../helpers/test-subscription.js';
import { waitFor } from '../helpers/wait-for.js';
import { type ReceiverAnswer, unusedUrl, WebhookReceiver } from '../helpers/webhook-receiver.js';

// Three destinations are down for a while (one answers 503, one is not listening, one never
// answers), then come back. Their deliveries are retried on the schedule and all arrive once
// they are back; meanwhile a healthy subscription's deliveries arrive as fast as they are stored.
const source = 'delivery-destination-down';
const COUNT = 100;
const RETRY_DELAYS_MS = [200, 400, 800, 1600, 3200];
/** How late a healthy subscription's delivery may arrive after its event was stored. */
const HEALTHY_LATENCY_MS = 2000;
let pipeline: PipelineFixture;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  pipeline = await startPipeline({ consumerEnv: { DELIVERY_POLL_MS: '20' } });
});

afterAll(async () => {
  for (const receiver of receivers) await receiver.close();
  await pipeline?.close();
});

async function receiver(
  secret: string,
  options: { respond?: () => ReceiverAnswer; port?: number } = {},
): Promise<WebhookReceiver> {
  const r = await WebhookReceiver.start({
    secrets: [secret],
    ...(options.respond === undefined ? {} : { respond: options.respond }),
    ...(options.port === undefined ? {} : { port: options.port }),
  });
  receivers.push(r);
  return r;
}

async function subscribe(
  url: string,
  secret: string,
  options: { timeoutMs?: number; maxInFlight?: number } = {},
): Promise<TestSubscription> {
  return insertSubscription(pipeline.database.db, {
    url,
    secret,
    sources: [source],
    retryDelaysMs: RETRY_DELAYS_MS,
    ...options,
  });
}

/** The subscription's deliveries with at least `attempts` attempts recorded. */
async function attemptedAtLeast(subscription: TestSubscription, attempts: number) {
  const result = await pipeline.database.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM deliveries d
     WHERE d.subscription_id = $1
       AND (SELECT count(*) FROM delivery_attempts a WHERE a.delivery_id = d.id) >= $2`,
    [subscription.id, attempts],
  );
  return result.rows[0]?.n ?? 0;
}

describe('destinations down for a while, then back', () => {
  it('retried until they are back, then everything arrives; a healthy subscription meanwhile gets each delivery within 2 s of storing', async () => {
    let down = true;
    const secrets = {
      healthy: newSecret(),
      refusing: newSecret(),
      closed: newSecret(),
      hanging: newSecret(),
    };
    const healthy = await receiver(secrets.healthy);
    const refusing = await receiver(secrets.refusing, { respond: () => (down ? 503 : 200) });
    const hanging = await receiver(secrets.hanging, { respond: () => (down ? 'hang' : 200) });
    const closedUrl = await unusedUrl();
    const subscriptions = {
      healthy: await subscribe(healthy.url, secrets.healthy),
      refusing: await subscribe(refusing.url, secrets.refusing),
      closed: await subscribe(closedUrl, secrets.closed),
      hanging: await subscribe(hanging.url, secrets.hanging, { timeoutMs: 300, maxInFlight: 25 }),
    };

    const reconciler = new Reconciler(source);
    await reconciler.send({
      prefix: 'down',
      count: COUNT,
      concurrency: 10,
      post: async (body) => (await pipeline.ingest.post(body)).statusCode,
    });
    expect(reconciler.acceptedIds()).toHaveLength(COUNT);

    // The healthy subscriber has everything while the others are still down.
    await expectEveryStoredDelivered({
      db: pipeline.database.db,
      source,
      subscriptionId: subscriptions.healthy.id,
      receiver: healthy,
      expectedStored: COUNT,
      timeoutMs: 10_000,
      label: 'healthy, the others down',
    });
    const storedAt = await pipeline.database.db.query<{ webhookId: string; storedAtMs: number }>(
      `SELECT 'msg_' || id AS "webhookId", (extract(epoch FROM created_at) * 1000)::float8 AS "storedAtMs"
       FROM webhook_events WHERE source = $1`,
      [source],
    );
    const firstReceipt = new Map<string, number>();
    for (const d of healthy.received) {
      if (d.webhookId !== undefined && !firstReceipt.has(d.webhookId)) {
        firstReceipt.set(d.webhookId, d.at);
      }
    }
    const latenciesMs = storedAt.rows.map(
      (r) => (firstReceipt.get(r.webhookId) ?? Number.POSITIVE_INFINITY) - r.storedAtMs,
    );
    const slowestMs = Math.max(...latenciesMs);
    console.error(`healthy: slowest delivery ${Math.round(slowestMs)} ms after storing`);
    expect(slowestMs, 'the slowest healthy delivery after its event was stored, ms').toBeLessThan(
      HEALTHY_LATENCY_MS,
    );
    expect(refusing.uniqueIds().size + hanging.uniqueIds().size).toBe(0);

    // Down long enough that every delivery failed: twice for the quick failures, once for the
    // ones that time out. The schedule's six attempts take over 6 s, so none has failed for good.
    await waitFor(
      'every down delivery to have failed attempts',
      async () =>
        (await attemptedAtLeast(subscriptions.refusing, 2)) === COUNT &&
        (await attemptedAtLeast(subscriptions.closed, 2)) === COUNT &&
        (await attemptedAtLeast(subscriptions.hanging, 1)) === COUNT,
      { timeoutMs: 10_000 },
    );
    down = false;
    const closed = await receiver(secrets.closed, { port: Number(new URL(closedUrl).port) });

    for (const [name, r] of [
      ['refusing', refusing],
      ['closed', closed],
      ['hanging', hanging],
    ] as const) {
      await expectEveryStoredDelivered({
        db: pipeline.database.db,
        source,
        subscriptionId: subscriptions[name].id,
        receiver: r,
        expectedStored: COUNT,
        timeoutMs: 15_000,
        label: `${name}, back`,
      });
    }
    expect((await storedWebhookIds(pipeline.database.db, source)).size).toBe(COUNT);
    expect(refusing.received.filter((d) => d.answer === 503).length).toBeGreaterThanOrEqual(
      2 * COUNT,
    );
  }, 60_000);
});
