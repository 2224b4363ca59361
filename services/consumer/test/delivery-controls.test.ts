import type { DeliveriesRepository, EventRow, EventsRepository } from '@webhooks/db';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { metricValue } from '../../../test/helpers/prometheus.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import {
  type ReceiverAnswer,
  unusedUrl,
  WebhookReceiver,
} from '../../../test/helpers/webhook-receiver.js';
import { deliveryOpsApp } from './fixtures/delivery-ops-app.js';
import { startDeliverySender } from './fixtures/delivery-sender.js';

// The delivery controls against real receivers, a real database and a real sender: backfill of
// events stored before a subscription existed, a signed test event, and the automatic pause of
// a destination that keeps failing (and its resume, with nothing lost).

const TOKEN = 'delivery-controls-token-0123456789';
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
/** The automatic pause's window here: short, so a test sees it. */
const AUTO_PAUSE_AFTER_MS = 1500;

let database: TestDatabase;
let events: EventsRepository;
let deliveries: DeliveriesRepository;
let app: FastifyInstance;
let closeApp = async () => {};
const open: Array<{ close(): Promise<unknown> } | (() => Promise<unknown>)> = [];

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  ({ events, deliveries, app, close: closeApp } = deliveryOpsApp(database.db, TOKEN));
});

afterEach(async () => {
  for (const thing of open.splice(0).reverse()) {
    await (typeof thing === 'function' ? thing() : thing.close());
  }
  // Each test's subscriptions (and their deliveries) leave with it.
  await database.db.query('DELETE FROM subscriptions');
});

afterAll(async () => {
  await closeApp();
  await database?.drop();
});

const call = (method: 'GET' | 'POST', url: string, payload?: unknown, token = TOKEN) =>
  app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });

async function receiver(respond?: () => ReceiverAnswer, port?: number): Promise<WebhookReceiver> {
  const r = await WebhookReceiver.start({
    secrets: [SECRET],
    ...(respond === undefined ? {} : { respond }),
    ...(port === undefined ? {} : { port }),
  });
  open.push(r);
  return r;
}

/** A sender of its own (pool, worker), as one consumer process has. */
function startSender() {
  const sender = startDeliverySender(database.url, 'delivery-controls-test', {
    DELIVERY_AUTO_PAUSE_AFTER_MS: AUTO_PAUSE_AFTER_MS,
  });
  open.push(sender.stop);
  return sender;
}

let names = 0;
/** Creates a subscription through the API, signed with `SECRET`. */
async function subscribe(url: string, settings: Record<string, unknown> = {}) {
  names += 1;
  const res = await call('POST', '/subscriptions', {
    name: `controls-${names}`,
    url,
    secret: SECRET,
    ...settings,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; name: string };
}

const event = (source: string, type: string, eventId: string): EventRow => ({
  eventId,
  source,
  type,
  data: { eventId, amount: 12345678901234567890n.toString() },
  timestamp: '2026-05-06T07:08:09Z',
});

async function deliveryCount(subscriptionId: string): Promise<number> {
  const result = await database.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1',
    [subscriptionId],
  );
  return result.rows[0]?.n ?? 0;
}

describe('POST /subscriptions/:id/backfill', () => {
  it('sends 1,000 events stored before the subscription existed, signed, each once; a dry run only counts', async () => {
    // 1,000 matching events and 200 that do not, stored before the subscription exists.
    const from = new Date(Date.now() - 1000).toISOString();
    const stored = new Map<string, string>();
    for (let batch = 0; batch < 4; batch += 1) {
      const rows: EventRow[] = [];
      for (let n = 0; n < 250; n += 1) rows.push(event('shop', 'order.paid', `o-${batch}-${n}`));
      for (let n = 0; n < 50; n += 1)
        rows.push(event('shop', 'customer.created', `c-${batch}-${n}`));
      const inserted = await events.insertBatch(rows);
      for (const key of inserted.stored) stored.set(key.id, key.eventId);
    }
    const r = await receiver();
    const subscription = await subscribe(r.url, {
      filter: { types: ['order.*'] },
      maxInFlight: 50,
    });
    const to = new Date(Date.now() + 1000).toISOString();
    const path = `/subscriptions/${subscription.id}/backfill`;

    // Nothing was made for it at storing; a dry run counts and makes nothing.
    expect(await deliveryCount(subscription.id)).toBe(0);
    const dry = await call('POST', path, { from, to, dryRun: true });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json()).toEqual({ matched: 1000, queued: 0 });
    expect(await deliveryCount(subscription.id)).toBe(0);
    // Pages smaller than a batch of equal stored times: the keyset's id breaks the ties.
    expect(
      await deliveries.backfill(subscription.id, { from, to }, { dryRun: true, pageSize: 7 }),
    ).toEqual({ matched: 1000, queued: 0 });

    startSender();
    const done = await call('POST', path, { from, to });
    expect(done.json()).toEqual({ matched: 1000, queued: 1000 });
    await r.waitForCount(1000, 30_000);
    await waitFor('1,000 delivered', async () => {
      const result = await database.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND status = 'delivered'`,
        [subscription.id],
      );
      return result.rows[0]?.n === 1000;
    });
    expect(r.received.every((d) => d.verified)).toBe(true);
    const expected = [...stored]
      .filter(([, eventId]) => eventId.startsWith('o-'))
      .map(([rowId]) => `msg_${rowId}`);
    expect(r.uniqueIds()).toEqual(new Set(expected));
    const first = JSON.parse(r.received[0]?.rawBody ?? '{}');
    expect(Object.keys(first)).toEqual(['id', 'source', 'type', 'timestamp', 'data']);
    expect(first.type).toBe('order.paid');

    // Again: every event has its delivery already; none is made or sent twice.
    expect((await call('POST', path, { from, to })).json()).toEqual({ matched: 1000, queued: 0 });
    expect(await deliveryCount(subscription.id)).toBe(1000);
    // Narrowed by type, and a window holding nothing.
    expect(
      (await call('POST', path, { from, to, types: ['customer.*'], dryRun: true })).json(),
    ).toEqual({
      matched: 0,
      queued: 0,
    });
    expect(
      (
        await call('POST', path, { from: to, to: new Date(Date.now() + 60_000).toISOString() })
      ).json(),
    ).toEqual({ matched: 0, queued: 0 });
    expect(r.received).toHaveLength(1000);
  }, 60_000);

  it('narrows by sources and types within the filter, and makes only the missing deliveries', async () => {
    const from = new Date(Date.now() - 1000).toISOString();
    await events.insertBatch([
      event('narrow-shop', 'order.paid', 'n-1'),
      event('narrow-shop', 'order.refunded', 'n-2'),
      event('narrow-billing', 'order.paid', 'n-3'),
      event('narrow-billing', 'invoice.paid', 'n-4'),
      event('elsewhere', 'order.paid', 'n-5'),
    ]);
    // Created after: it gets none of them at storing.
    const subscription = await subscribe('http://127.0.0.1:9/hook', {
      filter: { sources: ['narrow-shop', 'narrow-billing'], types: ['order.*'] },
    });
    await call('POST', `/subscriptions/${subscription.id}/pause`);
    const to = new Date(Date.now() + 1000).toISOString();
    const path = `/subscriptions/${subscription.id}/backfill`;
    expect(
      (
        await call('POST', path, { from, to, sources: ['narrow-shop'], types: ['order.paid'] })
      ).json(),
    ).toEqual({ matched: 1, queued: 1 });
    expect((await call('POST', path, { from, to })).json()).toEqual({ matched: 3, queued: 2 });
    expect(await deliveryCount(subscription.id)).toBe(3);
  });

  it('two backfills of one ordered subscription at once give each event one position in its key', async () => {
    // 400 events of 10 keys (customer ids), stored before the subscription exists.
    const from = new Date(Date.now() - 1000).toISOString();
    const rows: EventRow[] = [];
    for (let n = 0; n < 400; n += 1) {
      const row = event('race-shop', 'order.paid', `race-${n}`);
      rows.push({ ...row, data: { ...(row.data as object), customer: { id: `k${n % 10}` } } });
    }
    await events.insertBatch(rows);
    const r = await receiver();
    const subscription = await subscribe(r.url, {
      filter: { sources: ['race-shop'] },
      ordering: { key: '/data/customer/id' },
    });
    const to = new Date(Date.now() + 1000).toISOString();

    // Both walk the same pages at once; whichever makes an event's delivery, the other skips it
    // and must not take a position for it (a key's positions are its deliveries, no gaps).
    const results = await Promise.all(
      [0, 1, 2].map(() =>
        deliveries.backfill(subscription.id, { from, to }, { dryRun: false, pageSize: 20 }),
      ),
    );
    expect(results.map((result) => result.matched)).toEqual([400, 400, 400]);
    expect(results.reduce((sum, result) => sum + result.queued, 0)).toBe(400);
    const keys = await database.db.query<{ key: string; last: number; made: number; head: number }>(
      `SELECT k.order_key AS key, k.last_seq::int AS last, k.head_seq::int AS head,
         (SELECT count(*)::int FROM deliveries d
          WHERE d.subscription_id = k.subscription_id AND d.order_key = k.order_key) AS made
       FROM delivery_order_keys k WHERE k.subscription_id = $1 ORDER BY k.order_key`,
      [subscription.id],
    );
    expect(keys.rows).toHaveLength(10);
    for (const key of keys.rows) expect(key).toEqual({ key: key.key, last: 40, made: 40, head: 1 });

    // And every one of them is sent: no key waits on a position nothing holds.
    startSender();
    await r.waitForCount(400);
    await waitFor('400 deliveries recorded delivered', async () => {
      const result = await database.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND status = 'delivered'",
        [subscription.id],
      );
      return result.rows[0]?.n === 400;
    });
  });

  it('refuses bad input with 400 naming the field, an unknown subscription with 404, and needs the token', async () => {
    const subscription = await subscribe('http://127.0.0.1:9/hook');
    const path = `/subscriptions/${subscription.id}/backfill`;
    const to = new Date().toISOString();
    const refused = async (body: unknown, field: string) => {
      const res = await call('POST', path, body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error).toBe('validation_failed');
      expect(res.json().issues.map((i: { path: string }) => i.path)).toContain(field);
    };
    await refused({ to }, 'from');
    await refused({ from: 'yesterday', to }, 'from');
    await refused({ from: to, to: '2020-01-01T00:00:00Z' }, 'to');
    await refused({ from: '2020-01-01T00:00:00Z', to, types: ['a*b'] }, 'types.0');
    await refused({ from: '2020-01-01T00:00:00Z', to, sources: [] }, 'sources');
    await refused({ from: '2020-01-01T00:00:00Z', to, dryRun: 'yes' }, 'dryRun');
    await refused({ from: '2020-01-01T00:00:00Z', to, status: 'failed' }, 'status');
    const body = { from: '2020-01-01T00:00:00Z', to };
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await call('POST', `/subscriptions/${unknown}/backfill`, body)).statusCode).toBe(404);
    expect((await call('POST', '/subscriptions/nope/backfill', body)).statusCode).toBe(400);
    expect((await call('POST', path, body, 'wrong-token-0123456789')).statusCode).toBe(401);
  });
});

describe('POST /subscriptions/:id/test', () => {
  it('sends a signed webhook.test event, stored nowhere, paused or not, and says how it went', async () => {
    const r = await receiver();
    const subscription = await subscribe(r.url);
    await call('POST', `/subscriptions/${subscription.id}/pause`);
    const storedBefore = await database.db.query('SELECT 1 FROM webhook_events');

    const res = await call('POST', `/subscriptions/${subscription.id}/test`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ delivered: true, status: 200, durationMs: expect.any(Number) });
    expect(r.received).toHaveLength(1);
    const [sent] = r.received;
    // Verified by the standardwebhooks library, with the subscription's secret.
    expect(sent?.verified).toBe(true);
    const body = JSON.parse(sent?.rawBody ?? '{}');
    expect(Object.keys(body)).toEqual(['id', 'source', 'type', 'timestamp', 'data']);
    expect(body).toMatchObject({ source: 'webhooks', type: 'webhook.test' });
    expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(sent?.webhookId).toBe(`msg_${body.id}`);
    // A fresh id each time; nothing stored, no delivery made.
    await call('POST', `/subscriptions/${subscription.id}/test`);
    expect(r.received[1]?.webhookId).not.toBe(sent?.webhookId);
    expect((await database.db.query('SELECT 1 FROM webhook_events')).rowCount).toBe(
      storedBefore.rowCount,
    );
    expect(await deliveryCount(subscription.id)).toBe(0);
  });

  it('answers delivered false with the status of a 500 or a redirect, or the error of a dead or refused destination', async () => {
    const failing = await receiver(() => ({ status: 500, body: 'down' }));
    const moved = await receiver(() => ({ status: 302, headers: { location: failing.url } }));
    const test = async (url: string) => {
      const subscription = await subscribe(url);
      const res = await call('POST', `/subscriptions/${subscription.id}/test`);
      expect(res.statusCode).toBe(200);
      return res.json();
    };
    expect(await test(failing.url)).toEqual({
      delivered: false,
      status: 500,
      durationMs: expect.any(Number),
    });
    // Not followed: the 500 receiver got only the one above.
    expect(await test(moved.url)).toMatchObject({ delivered: false, status: 302 });
    expect(failing.received).toHaveLength(1);
    const dead = await test(await unusedUrl());
    expect(dead).toEqual({
      delivered: false,
      error: expect.stringContaining('ECONNREFUSED'),
      durationMs: expect.any(Number),
    });
    // The destination policy holds for test events as for deliveries.
    expect(await test('http://169.254.169.254/latest')).toMatchObject({
      delivered: false,
      error: expect.stringContaining('DESTINATION_REFUSED'),
    });
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await call('POST', `/subscriptions/${unknown}/test`)).statusCode).toBe(404);
  });
});

describe('automatic pause', () => {
  it('pauses a destination whose every attempt failed for the window, with the reason and a metric; resumed, it gets everything', async () => {
    const url = await unusedUrl();
    const dead = await subscribe(url, {
      retryDelaysMs: Array.from({ length: 20 }, () => 200),
      timeoutMs: 1000,
    });
    const r = await receiver();
    const healthy = await subscribe(r.url);
    const { registry } = startSender();
    const stored = await events.insertBatch([
      event('shop', 'order.paid', 'p-1'),
      event('shop', 'order.paid', 'p-2'),
      event('shop', 'order.paid', 'p-3'),
    ]);

    const paused = await waitFor(
      'the dead destination paused',
      async () => {
        const s = (await call('GET', `/subscriptions/${dead.id}`)).json();
        return s.state === 'paused' ? s : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect(paused.pausedReason).toMatch(
      /^every attempt failed for 1500 ms \(last error: .*ECONNREFUSED/,
    );
    expect(Date.parse(paused.pausedAt)).toBeGreaterThan(Date.now() - 15_000);
    const metrics = await registry.metrics();
    expect(
      metricValue(metrics, 'subscriptions_auto_paused_total', { subscription: dead.name }),
    ).toBe(1);
    // The healthy one goes on; the dead one's deliveries wait, none lost.
    expect((await call('GET', `/subscriptions/${healthy.id}`)).json().state).toBe('active');
    await r.waitForCount(3);
    const waiting = await database.db.query<{ status: string }>(
      'SELECT status FROM deliveries WHERE subscription_id = $1',
      [dead.id],
    );
    expect(waiting.rows.map((row) => row.status)).toEqual(['pending', 'pending', 'pending']);

    // The destination comes back; once resumed it gets all three, and is not paused again.
    const back = await receiver(undefined, Number(new URL(url).port));
    const resumed = (await call('POST', `/subscriptions/${dead.id}/resume`)).json();
    expect(resumed).toMatchObject({ state: 'active', pausedReason: null, pausedAt: null });
    await back.waitForCount(3, 15_000);
    await waitFor('all three delivered', async () => {
      const result = await database.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND status = 'delivered'`,
        [dead.id],
      );
      return result.rows[0]?.n === 3;
    });
    expect(back.uniqueIds()).toEqual(new Set(stored.stored.map((s) => `msg_${s.id}`)));
    expect((await call('GET', `/subscriptions/${dead.id}`)).json().state).toBe('active');
    expect(
      metricValue(await registry.metrics(), 'subscriptions_auto_paused_total', {
        subscription: dead.name,
      }),
    ).toBe(1);
  }, 40_000);
});
