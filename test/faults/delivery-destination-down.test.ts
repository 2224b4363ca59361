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
// answers), then come back. The consumer backs off from each after a few failures (one probe at
// a time), the deliveries waiting meanwhile keep their retries, and all arrive once they are
// back; meanwhile a healthy subscription's deliveries arrive as fast as they are stored.
const source = 'delivery-destination-down';
const COUNT = 100;
const RETRY_DELAYS_MS = [200, 400, 800, 1600, 3200];
/** How late a healthy subscription's delivery may arrive after its event was stored. */
const HEALTHY_LATENCY_MS = 2000;
const BACKOFF_AFTER_FAILURES = 5;
let pipeline: PipelineFixture;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  pipeline = await startPipeline({
    consumerEnv: {
      DELIVERY_POLL_MS: '20',
      DELIVERY_BACKOFF_AFTER_FAILURES: String(BACKOFF_AFTER_FAILURES),
      DELIVERY_BACKOFF_MAX_MS: '400',
    },
  });
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

/** The subscription's attempts recorded, and its deliveries failed for good. */
async function attemptsAndFailed(subscription: TestSubscription) {
  const result = await pipeline.database.db.query<{ attempts: number; failed: number }>(
    `SELECT (SELECT count(*) FROM delivery_attempts a WHERE a.subscription_id = $1)::int AS attempts,
       (SELECT count(*) FROM deliveries d
        WHERE d.subscription_id = $1 AND d.status = 'failed')::int AS failed`,
    [subscription.id],
  );
  return result.rows[0] ?? { attempts: 0, failed: 0 };
}

describe('destinations down for a while, then back', () => {
  it('backed off from while down (probes, no retries used up), then everything arrives; a healthy subscription meanwhile gets each delivery within 2 s of storing', async () => {
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

    // Down for three seconds. Without a back-off each of the 100 deliveries would be tried on
    // its schedule (200, 400, 800 ms…: four times each, 400 attempts per destination); with it,
    // the first failures (up to `maxInFlight` at once) are followed by single probes at most
    // 400 ms apart, and no delivery runs out of retries.
    await waitFor('every down destination tried', async () => {
      const tried = await Promise.all(
        [subscriptions.refusing, subscriptions.closed, subscriptions.hanging].map(
          async (subscription) => (await attemptsAndFailed(subscription)).attempts,
        ),
      );
      return tried.every((attempts) => attempts >= BACKOFF_AFTER_FAILURES);
    });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    for (const name of ['refusing', 'closed', 'hanging'] as const) {
      const { attempts, failed } = await attemptsAndFailed(subscriptions[name]);
      console.error(`${name}: ${attempts} attempts while down, ${failed} failed for good`);
      expect(attempts, `${name}: attempts while down`).toBeLessThanOrEqual(60);
      expect(failed, `${name}: deliveries failed for good`).toBe(0);
    }
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
  }, 60_000);
});
