import { parseExactJson } from '@webhooks/contracts';
import {
  DeliveriesRepository,
  type EventRow,
  EventsRepository,
  SubscriptionsRepository,
} from '@webhooks/db';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import {
  type ReceiverAnswer,
  unusedUrl,
  WebhookReceiver,
} from '../../../test/helpers/webhook-receiver.js';
import { startDeliverySender } from './fixtures/delivery-sender.js';

// The sender against real receivers: deliveries made by storing are sent signed, retried on
// the subscription's schedule, recorded attempt by attempt, and replayable.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
let database: TestDatabase;
let events: EventsRepository;
let deliveries: DeliveriesRepository;
const open: Array<{ close(): Promise<unknown> } | (() => Promise<unknown>)> = [];

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  events = new EventsRepository(database.db);
  deliveries = new DeliveriesRepository(database.db);
});

afterEach(async () => {
  for (const thing of open.splice(0).reverse()) {
    await (typeof thing === 'function' ? thing() : thing.close());
  }
});

afterAll(async () => {
  await database?.drop();
});

async function receiver(
  respond?: (n: number) => ReceiverAnswer | Promise<ReceiverAnswer>,
): Promise<WebhookReceiver> {
  let n = 0;
  const r = await WebhookReceiver.start({
    secrets: [SECRET],
    ...(respond === undefined ? {} : { respond: () => respond(++n) }),
  });
  open.push(r);
  return r;
}

/** A sender of its own (pool, worker), as one consumer process has. */
function startSender(
  settings: {
    DELIVERY_ALLOWED_NETWORKS?: string[];
    DELIVERY_BACKOFF_AFTER_FAILURES?: number;
    DELIVERY_BACKOFF_MAX_MS?: number;
  } = {},
) {
  const sender = startDeliverySender(database.url, 'delivery-test', settings);
  open.push(sender.stop);
  return sender.role;
}

let subscriptions = 0;
async function subscribe(
  url: string,
  options: {
    types?: string[];
    retryDelaysMs?: number[];
    timeoutMs?: number;
    maxInFlight?: number;
    rateLimitPerSecond?: number;
  } = {},
): Promise<string> {
  subscriptions += 1;
  const result = await database.db.query<{ id: string }>(
    `INSERT INTO subscriptions (name, url, types, secret, retry_delays_ms, timeout_ms,
       max_in_flight, rate_limit_per_second)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [
      `subscription-${subscriptions}`,
      url,
      options.types ?? null,
      SECRET,
      options.retryDelaysMs ?? [50, 50],
      options.timeoutMs ?? 2000,
      options.maxInFlight ?? 10,
      options.rateLimitPerSecond ?? null,
    ],
  );
  return result.rows[0]?.id as string;
}

const event = (type: string, eventId: string, data: Record<string, unknown> = {}): EventRow => ({
  eventId,
  source: 'delivery-test',
  type,
  data,
  timestamp: '2026-05-06T07:08:09.5+02:00',
});

async function statusOf(subscriptionId: string, eventId: string) {
  const page = await deliveries.find({ subscriptionId, eventId, limit: 1 });
  const summary = page.items[0];
  return summary === undefined ? undefined : deliveries.findById(summary.id);
}

describe('delivering stored events', () => {
  it('sends each matching event once, signed, with its body as stored and its row id', async () => {
    const r = await receiver();
    const subscription = await subscribe(r.url, { types: ['order.*'] });
    startSender();
    const stored = await events.insertBatch([
      event(
        'order.created',
        'o-1',
        parseExactJson('{"total": 12345678901234567890.5, "id": 9007199254740993}') as Record<
          string,
          unknown
        >,
      ),
      event('order.paid', 'o-2'),
      event('invoice.paid', 'i-1'),
    ]);

    await r.waitForCount(2);
    const o1 = stored.stored.find((s) => s.eventId === 'o-1');
    const first = r.received.find((d) => d.webhookId === `msg_${o1?.id}`);
    expect(first?.verified).toBe(true);
    expect(first?.rawBody).toBe(
      '{"id":"o-1","source":"delivery-test","type":"order.created","timestamp":"2026-05-06T05:08:09.500000Z","data":{"id": 9007199254740993, "total": 12345678901234567890.5}}',
    );
    expect(JSON.parse(first?.rawBody ?? '{}')).toMatchObject({ id: 'o-1', type: 'order.created' });
    await waitFor('both recorded as delivered', async () => {
      const page = await deliveries.find({ subscriptionId: subscription, limit: 10 });
      return page.items.length === 2 && page.items.every((d) => d.status === 'delivered');
    });
    const record = await statusOf(subscription, 'o-1');
    expect(record?.attempts).toBe(1);
    expect(record?.attemptLog).toEqual([
      expect.objectContaining({ httpStatus: 200, error: null, responseBody: '' }),
    ]);
    expect(record?.webhookId).toBe(`msg_${o1?.id}`);
    // The invoice matched no subscription; nothing else arrived.
    expect(r.received).toHaveLength(2);
  });

  it('retries a failing destination on the schedule, keeping every attempt, until it answers', async () => {
    const r = await receiver((n) =>
      n === 1 ? 500 : n === 2 ? { status: 429, body: 'slow down' } : 200,
    );
    const subscription = await subscribe(r.url, { retryDelaysMs: [100, 200] });
    startSender();
    await events.insertBatch([event('retry.me', 'r-1')]);

    await waitFor('delivered on the third attempt', async () => {
      const record = await statusOf(subscription, 'r-1');
      return record?.status === 'delivered' ? record : undefined;
    });
    const record = await statusOf(subscription, 'r-1');
    expect(record?.attemptLog.map((a) => a.httpStatus)).toEqual([500, 429, 200]);
    expect(record?.attemptLog[1]?.responseBody).toBe('slow down');
    // The same webhook-id every time, so the receiver can drop repeats.
    expect(new Set(r.received.map((d) => d.webhookId)).size).toBe(1);
    const [a, b, c] = r.received.map((d) => d.at);
    expect((b ?? 0) - (a ?? 0)).toBeGreaterThanOrEqual(90);
    expect((c ?? 0) - (b ?? 0)).toBeGreaterThanOrEqual(190);
  });

  it('fails after the last retry, records why, and a replay sends it again', async () => {
    let up = false;
    const r = await receiver(() => (up ? 200 : 503));
    const subscription = await subscribe(r.url, { retryDelaysMs: [50] });
    startSender();
    await events.insertBatch([event('fail.me', 'f-1')]);

    const failed = await waitFor('failed after two attempts', async () => {
      const record = await statusOf(subscription, 'f-1');
      return record?.status === 'failed' ? record : undefined;
    });
    expect(failed.attempts).toBe(2);
    expect(failed.lastError).toBe('HTTP 503');

    up = true;
    expect(await deliveries.replay({ ids: [failed.id] }, { dryRun: true })).toEqual({
      matched: 1,
      queued: 0,
    });
    expect(
      await deliveries.replay(
        { filter: { subscriptionId: subscription, status: 'failed' } },
        { dryRun: false },
      ),
    ).toEqual({ matched: 1, queued: 1 });
    const delivered = await waitFor('delivered after the replay', async () => {
      const record = await statusOf(subscription, 'f-1');
      return record?.status === 'delivered' ? record : undefined;
    });
    expect(delivered.attemptLog.map((a) => a.httpStatus)).toEqual([503, 503, 200]);
  });

  it('records a timeout, a reset and a refused connection as failed attempts', async () => {
    const hanging = await receiver(() => 'hang');
    const resetting = await receiver(() => 'reset');
    const nobody = await unusedUrl();
    const subs = {
      hang: await subscribe(hanging.url, { types: ['t.hang'], retryDelaysMs: [], timeoutMs: 300 }),
      reset: await subscribe(resetting.url, { types: ['t.reset'], retryDelaysMs: [] }),
      refused: await subscribe(nobody, { types: ['t.refused'], retryDelaysMs: [] }),
      linkLocal: await subscribe('http://169.254.169.254/latest', {
        types: ['t.link'],
        retryDelaysMs: [],
      }),
    };
    startSender();
    await events.insertBatch([
      event('t.hang', 'h'),
      event('t.reset', 'x'),
      event('t.refused', 'n'),
      event('t.link', 'l'),
    ]);

    const errorOf = (subscription: string, id: string) =>
      waitFor(`a final outcome for ${id}`, async () => {
        const record = await statusOf(subscription, id);
        return record?.status === 'failed' ? record.attemptLog[0] : undefined;
      });
    expect((await errorOf(subs.hang, 'h'))?.error).toMatch(/timeout after 300 ms/);
    expect((await errorOf(subs.reset, 'x'))?.error).toMatch(/ECONNRESET|socket hang up/);
    expect((await errorOf(subs.refused, 'n'))?.error).toMatch(/ECONNREFUSED/);
    expect((await errorOf(subs.linkLocal, 'l'))?.error).toMatch(/DESTINATION_REFUSED/);
  });

  it('holds more than ten attempts open at once without a listener-leak warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    open.push(async () => process.off('warning', onWarning));
    // Every answer waits until all 20 are open at once.
    let release: () => void = () => {};
    const allOpen = new Promise<void>((resolve) => (release = resolve));
    const r = await receiver(async (n) => {
      if (n >= 20) release();
      await allOpen;
      return 200;
    });
    const subscription = await subscribe(r.url, { types: ['wide'], maxInFlight: 20 });
    startSender();

    await events.insertBatch(Array.from({ length: 20 }, (_, i) => event('wide', `w-${i}`)));
    await r.waitForCount(20);
    await waitFor('all 20 recorded', async () => {
      const page = await deliveries.find({
        subscriptionId: subscription,
        status: 'delivered',
        limit: 100,
      });
      return page.items.length === 20;
    });
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
  });

  it('keeps maxInFlight across two processes, and a slow destination does not hold up another', async () => {
    let open = 0;
    let most = 0;
    const slow = await receiver(async () => {
      open += 1;
      most = Math.max(most, open);
      await new Promise((resolve) => setTimeout(resolve, 100));
      open -= 1;
      return 200;
    });
    const fast = await receiver();
    const slowSubscription = await subscribe(slow.url, { types: ['slow'], maxInFlight: 3 });
    await subscribe(fast.url, { types: ['fast'] });
    startSender();
    startSender();

    await events.insertBatch(Array.from({ length: 30 }, (_, i) => event('slow', `s-${i}`)));
    const fastStartedAt = Date.now();
    await events.insertBatch(Array.from({ length: 30 }, (_, i) => event('fast', `q-${i}`)));
    await fast.waitForCount(30);
    // 30 slow ones at 3 at a time take a second; the fast ones do not wait for them.
    expect(Date.now() - fastStartedAt).toBeLessThan(800);

    await slow.waitForCount(30, 20_000);
    expect(most).toBe(3);
    await waitFor('every slow one recorded', async () => {
      const page = await deliveries.find({
        subscriptionId: slowSubscription,
        status: 'delivered',
        limit: 100,
      });
      return page.items.length === 30;
    });
  });

  it('sends nothing for a paused subscription, keeps what it is owed, and sends it all on resume', async () => {
    const r = await receiver();
    const subscription = await subscribe(r.url, { types: ['paused.*'], maxInFlight: 50 });
    const subscriptionsRepository = new SubscriptionsRepository(database.db);
    expect((await subscriptionsRepository.setState(subscription, 'paused'))?.state).toBe('paused');
    startSender();
    for (let first = 0; first < 500; first += 100) {
      await events.insertBatch(
        Array.from({ length: 100 }, (_, i) => event('paused.one', `p-${first + i}`)),
      );
    }

    // Made and waiting, none sent for ten seconds (the sender polls every 20 ms).
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    expect(r.received).toHaveLength(0);
    const waiting = await database.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND status = 'pending'`,
      [subscription],
    );
    expect(waiting.rows[0]?.n).toBe(500);

    await subscriptionsRepository.setState(subscription, 'active');
    await waitFor('all 500 delivered', () => r.uniqueIds().size === 500);
    expect(r.received).toHaveLength(500);
  }, 30_000);

  it('backs off from a destination that fails everything: one probe at a time, nothing lost, the others unhurt', async () => {
    let down = true;
    const flaky = await receiver(() => (down ? 503 : 200));
    const healthy = await receiver();
    const flakySubscription = await subscribe(flaky.url, {
      types: ['flaky'],
      retryDelaysMs: [20, 20, 20],
      maxInFlight: 10,
    });
    await subscribe(healthy.url, { types: ['healthy'] });
    const role = startSender({ DELIVERY_BACKOFF_AFTER_FAILURES: 5, DELIVERY_BACKOFF_MAX_MS: 200 });

    await events.insertBatch(Array.from({ length: 100 }, (_, i) => event('flaky', `f-${i}`)));
    await waitFor('backing off', () => role.worker.isBackingOff(flakySubscription));
    const healthyStartedAt = Date.now();
    await events.insertBatch(Array.from({ length: 100 }, (_, i) => event('healthy', `h-${i}`)));
    await healthy.waitForCount(100);
    expect(Date.now() - healthyStartedAt).toBeLessThan(2000);

    // A second of back-off: probes 200 ms apart at most, never two at once.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const attemptsWhileDown = flaky.received.length;
    // The failures before the back-off (up to 5 in a row, plus what was in flight: 10) and
    // the probes (five at most, 200 ms apart); without the back-off every delivery would have
    // been tried four times over in that second (20 ms retries): 400 attempts.
    expect(attemptsWhileDown).toBeLessThanOrEqual(25);
    const page = await deliveries.find({ subscriptionId: flakySubscription, limit: 100 });
    // Waiting deliveries keep their retries: none failed for good.
    expect(page.items.filter((d) => d.status === 'failed').length).toBeLessThanOrEqual(5);

    down = false;
    await waitFor(
      'every flaky one delivered once the destination answers',
      () => flaky.received.filter((d) => d.answer === 200).length >= 95,
    );
    expect(role.worker.isBackingOff(flakySubscription)).toBe(false);
  });
});

describe('a destination that asks for less', () => {
  it('rateLimitPerSecond holds across two processes: no one-second window over the limit, and the backlog still goes', async () => {
    const r = await receiver();
    await subscribe(r.url, { types: ['limited'], rateLimitPerSecond: 20, maxInFlight: 50 });
    await events.insertBatch(Array.from({ length: 400 }, (_, i) => event('limited', `l-${i}`)));
    const startedAt = Date.now();
    startSender();
    startSender();
    await waitFor('all 400 answered', () => r.uniqueIds().size === 400, { timeoutMs: 40_000 });
    const seconds = (Date.now() - startedAt) / 1000;
    const arrivals = r.received.map((d) => d.at).sort((a, b) => a - b);
    let most = 0;
    for (let first = 0, i = 0; i < arrivals.length; i += 1) {
      while ((arrivals[i] as number) - (arrivals[first] as number) >= 1000) first += 1;
      most = Math.max(most, i - first + 1);
    }
    console.error(`rate limit 20/s: 400 in ${seconds.toFixed(1)} s, at most ${most} in a second`);
    expect(most).toBeLessThanOrEqual(20);
    expect(r.uniqueIds().size).toBe(400);
    // 400 at 20 a second is 20 s; the window is 1.1 s, so about 22.
    expect(seconds).toBeLessThan(30);
  }, 60_000);

  it('a 429 waits for its Retry-After and is not one of the retries; 24 hours of nothing but 429 fails', async () => {
    let n = 0;
    const r = await receiver(() => {
      n += 1;
      return n <= 3 ? { status: 429, headers: { 'retry-after': '1' } } : 200;
    });
    // One retry only: three failures of another kind would fail it.
    const subscription = await subscribe(r.url, { types: ['throttled'], retryDelaysMs: [20] });
    startSender();
    await events.insertBatch([event('throttled', 't-1')]);
    await waitFor(
      'delivered after three 429s',
      async () => {
        return (await statusOf(subscription, 't-1'))?.status === 'delivered';
      },
      { timeoutMs: 10_000 },
    );
    const times = r.received.map((d) => d.at);
    expect(times).toHaveLength(4);
    for (let i = 1; i < times.length; i += 1) {
      expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(950);
    }
    const delivery = await statusOf(subscription, 't-1');
    expect(delivery?.attemptLog.map((a) => a.httpStatus)).toEqual([429, 429, 429, 200]);
    expect(delivery?.attempts).toBe(1);

    // Refused with 429 since more than a day: the next 429 fails it.
    n = 0;
    await events.insertBatch([event('throttled', 't-2')]);
    await waitFor('a first 429', () => n >= 1);
    await database.db.query(
      `UPDATE deliveries SET throttled_since = now() - interval '25 hours'
       WHERE subscription_id = $1 AND throttled_since IS NOT NULL`,
      [subscription],
    );
    await waitFor(
      'failed after a day of 429',
      async () => {
        return (await statusOf(subscription, 't-2'))?.status === 'failed';
      },
      { timeoutMs: 10_000 },
    );
    expect(r.received.filter((d) => d.answer !== 200).length).toBeGreaterThanOrEqual(2);
  }, 30_000);
});
