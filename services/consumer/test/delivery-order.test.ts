import { Database, type DeliveriesRepository, type EventRow, EventsRepository } from '@webhooks/db';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import {
  type ReceivedDelivery,
  type ReceiverAnswer,
  WebhookReceiver,
} from '../../../test/helpers/webhook-receiver.js';
import { deliveryOpsApp } from './fixtures/delivery-ops-app.js';
import { startDeliverySender } from './fixtures/delivery-sender.js';

// Order per key against real receivers, a real database and real senders: a subscription with
// `ordering.key` is sent the events of one key one at a time, in the order they were stored; a
// failing event holds back only its own key; events without the key are not held.

const TOKEN = 'delivery-order-token-0123456789';
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ORDERING = { key: '/data/customer/id' };

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

const call = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
  app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${TOKEN}` },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });

async function receiver(respond?: (d: ReceivedDelivery) => ReceiverAnswer) {
  const r = await WebhookReceiver.start({
    secrets: [SECRET],
    ...(respond === undefined ? {} : { respond }),
  });
  open.push(r);
  return r;
}

/** A database pool of its own, closed after the test. */
function pool(name: string, maxConnections = 4): Database {
  const db = new Database({
    connectionString: database.url,
    logger: testLogger(),
    maxConnections,
    statementTimeoutMs: 30_000,
    applicationName: name,
  });
  open.push(() => db.close());
  return db;
}

/** A sender of its own (pool, worker), as one consumer process has. */
function startSender() {
  const sender = startDeliverySender(database.url, 'delivery-order-test');
  open.push(sender.stop);
  return sender.role;
}

let names = 0;
/** Creates a subscription through the API, signed with `SECRET`. */
async function subscribe(url: string, settings: Record<string, unknown> = {}) {
  names += 1;
  const res = await call('POST', '/subscriptions', {
    name: `order-${names}`,
    url,
    secret: SECRET,
    ...settings,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; name: string; ordering: { key: string } | null };
}

/** Event `seq` of customer `customer` (no customer: an event without the key). */
const event = (
  customer: string | undefined,
  seq: number,
  eventId: string,
  source = 'order-test',
): EventRow => ({
  eventId,
  source,
  type: 'customer.changed',
  data: customer === undefined ? { seq } : { customer: { id: customer }, seq },
  timestamp: '2026-05-06T07:08:09Z',
});

interface Sent {
  customer: string | undefined;
  seq: number;
  eventId: string;
}

function sent(delivery: ReceivedDelivery): Sent {
  const body = JSON.parse(delivery.rawBody) as {
    id: string;
    data: { customer?: { id: string }; seq: number };
  };
  return { customer: body.data.customer?.id, seq: body.data.seq, eventId: body.id };
}

/** The receiver's 2xx-answered deliveries, per customer, as the sequence of their `seq`. */
function successesByCustomer(r: WebhookReceiver): Map<string | undefined, number[]> {
  const byCustomer = new Map<string | undefined, number[]>();
  for (const delivery of r.received) {
    if (typeof delivery.answer !== 'number' || delivery.answer >= 300) continue;
    const { customer, seq } = sent(delivery);
    byCustomer.set(customer, [...(byCustomer.get(customer) ?? []), seq]);
  }
  return byCustomer;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A deterministic stand-in for randomness: the same shuffle and failures on every run. */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('ordering key settings', () => {
  it('is shown, validated as a JSON pointer into the event, and set or cleared by PATCH', async () => {
    const s = await subscribe('http://127.0.0.1:9/hook', { ordering: ORDERING });
    expect(s.ordering).toEqual(ORDERING);
    const plain = await subscribe('http://127.0.0.1:9/hook');
    expect(plain.ordering).toBeNull();
    for (const key of ['data/x', '/data/a~2b', '/timestamp', '/datax', '', '/data/~']) {
      const res = await call('POST', '/subscriptions', {
        name: `bad-${key}`,
        url: 'http://127.0.0.1:9/hook',
        ordering: { key },
      });
      expect(res.statusCode, key).toBe(400);
    }
    for (const key of ['/source', '/type', '/id', '/data', '/data/a~1b/~0c/0']) {
      const res = await call('PATCH', `/subscriptions/${plain.id}`, { ordering: { key } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().ordering).toEqual({ key });
    }
    const cleared = await call('PATCH', `/subscriptions/${plain.id}`, { ordering: null });
    expect(cleared.json().ordering).toBeNull();
    expect((await call('GET', `/subscriptions/${s.id}`)).json().ordering).toEqual(ORDERING);
  });
});

describe('order per key', () => {
  it('delivers 50 keys × 40 events, stored interleaved by two storers, each key in stored order through ~10% of 500s', async () => {
    const random = generator(42);
    // About one attempt in ten is answered 500; retried after 20 ms, none fails for good.
    const r = await receiver(() => (random() < 0.1 ? 500 : 200));
    const subscription = await subscribe(r.url, {
      ordering: ORDERING,
      retryDelaysMs: [20, 20, 20, 20, 20, 20, 20, 20],
      maxInFlight: 20,
    });
    startSender();
    startSender();

    // Each storer owns 25 keys and stores their events interleaved at random, in batches of
    // 1 to 30, while the other storer does the same: per key, the stored order is its storer's.
    const KEYS = 50;
    const PER_KEY = 40;
    const storers = [0, 1].map(async (storer) => {
      const store = new EventsRepository(pool(`storer-${storer}`, 1));
      const next = new Map<number, number>();
      const keys = range(KEYS).filter((k) => k % 2 === storer);
      const sequence: EventRow[] = [];
      while (sequence.length < keys.length * PER_KEY) {
        const open = keys.filter((k) => (next.get(k) ?? 0) < PER_KEY);
        const k = open[Math.floor(random() * open.length)] as number;
        const seq = next.get(k) ?? 0;
        next.set(k, seq + 1);
        sequence.push(event(`c-${k}`, seq, `e-${k}-${seq}`));
      }
      while (sequence.length > 0) {
        await store.insertBatch(sequence.splice(0, 1 + Math.floor(random() * 30)));
      }
    });
    await Promise.all(storers);

    await waitFor(
      'every event delivered',
      () => [...successesByCustomer(r).values()].flat().length >= KEYS * PER_KEY,
      { timeoutMs: 60_000 },
    );
    const byCustomer = successesByCustomer(r);
    expect(byCustomer.size).toBe(KEYS);
    for (const k of range(KEYS)) {
      expect(byCustomer.get(`c-${k}`), `c-${k}`).toEqual(range(PER_KEY));
    }
    // One at a time: no attempt of a key's event arrived before the one before it succeeded.
    const delivered = new Map<string, number>();
    for (const d of r.received) {
      const { customer, seq } = sent(d);
      expect(seq, `${customer} ${seq}`).toBeLessThanOrEqual(
        (delivered.get(`${customer}`) ?? -1) + 1,
      );
      if (d.answer === 200) delivered.set(`${customer}`, seq);
    }
    expect(r.received.some((d) => d.answer === 500)).toBe(true);
    const page = await deliveries.find({ subscriptionId: subscription.id, limit: 500 });
    expect(page.items.every((d) => d.status === 'delivered')).toBe(true);
  }, 90_000);

  // The requirement's minute, for real: one key's destination answers 500 for 60 s while events
  // of it and of nine other keys keep being stored. The others arrive within a second of being
  // stored the whole time; the failing key's are held and then arrive in order.
  it('holds back only the key whose event fails: the other keys arrive within a second while it fails for a minute', async () => {
    const FAILING_MS = 60_000;
    let failingUntil = Number.POSITIVE_INFINITY;
    const r = await receiver((d) =>
      sent(d).customer === 'c-stuck' && Date.now() < failingUntil ? 500 : 200,
    );
    await subscribe(r.url, {
      ordering: ORDERING,
      // Retried every 5 s: still pending after the minute (20 retries), not failed for good.
      retryDelaysMs: Array.from({ length: 20 }, () => 5000),
      maxInFlight: 20,
    });
    startSender();
    failingUntil = Date.now() + FAILING_MS;

    const storedAt = new Map<string, number>();
    let round = 0;
    while (Date.now() < failingUntil) {
      const batch = range(9).map((k) => event(`c-${k}`, round, `m-${k}-${round}`));
      if (round % 4 === 0) batch.push(event('c-stuck', round / 4, `stuck-${round / 4}`));
      const before = Date.now();
      await events.insertBatch(batch);
      for (const e of batch) storedAt.set(e.eventId, before);
      round += 1;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const stuckEvents = Math.ceil(round / 4);

    await waitFor(
      'the held key delivered once its destination answers',
      () => (successesByCustomer(r).get('c-stuck')?.length ?? 0) >= stuckEvents,
      { timeoutMs: 20_000 },
    );
    const byCustomer = successesByCustomer(r);
    expect(byCustomer.get('c-stuck')).toEqual(range(stuckEvents));
    for (const k of range(9)) expect(byCustomer.get(`c-${k}`), `c-${k}`).toEqual(range(round));
    // Every other key's first 2xx came within a second of storing, all minute long.
    const lateness = r.received
      .filter((d) => d.answer === 200 && sent(d).customer !== 'c-stuck')
      .map((d) => d.at - (storedAt.get(sent(d).eventId) ?? 0));
    expect(lateness).toHaveLength(9 * round);
    expect(Math.max(...lateness)).toBeLessThan(1000);
    // The stuck key's first event was tried all minute; nothing after it before it went.
    const stuckAttempts = r.received.filter((d) => sent(d).customer === 'c-stuck');
    expect(stuckAttempts.filter((d) => d.answer === 500).length).toBeGreaterThanOrEqual(10);
    expect(stuckAttempts.filter((d) => d.answer === 500).every((d) => sent(d).seq === 0)).toBe(
      true,
    );
  }, 100_000);

  it('sends events without the key unordered and never holds them behind a failing key', async () => {
    const r = await receiver((d) => (sent(d).customer === 'c-down' ? 500 : 200));
    await subscribe(r.url, {
      ordering: ORDERING,
      retryDelaysMs: [60_000],
      maxInFlight: 10,
    });
    startSender();
    await events.insertBatch([event('c-down', 0, 'down-0'), event('c-down', 1, 'down-1')]);
    await waitFor('the failing key tried', () => r.received.length >= 1);
    await events.insertBatch(range(20).map((i) => event(undefined, i, `free-${i}`)));

    await waitFor(
      'every event without the key delivered',
      () => (successesByCustomer(r).get(undefined)?.length ?? 0) === 20,
    );
    expect([...(successesByCustomer(r).get(undefined) ?? [])].sort((a, b) => a - b)).toEqual(
      range(20),
    );
    // The failing key's second event still waits for its first.
    expect(r.received.filter((d) => sent(d).eventId === 'down-1')).toHaveLength(0);
    const waiting = await deliveries.find({ eventId: 'down-1', limit: 1 });
    expect(waiting.items[0]).toMatchObject({
      status: 'pending',
      nextAttemptAt: null,
      orderKey: 'c-down',
      attempts: 0,
    });
  });

  it('takes positions in commit order: a second storing transaction on the key waits for the first', async () => {
    const r = await receiver();
    const subscription = await subscribe(r.url, { ordering: ORDERING });
    const first = pool('first-storer', 1);
    const second = pool('second-storer', 1);
    const committed: string[] = [];

    // The first transaction stores event A of the key and stays open; then the second stores B
    // of the same key and commits as soon as it can. Had it not waited, it would commit first.
    let commitFirst: () => void = () => {};
    const firstHeld = new Promise<void>((resolve) => (commitFirst = resolve));
    let firstStored: () => void = () => {};
    const firstInserted = new Promise<void>((resolve) => (firstStored = resolve));
    const firstTx = first
      .transaction(async (query) => {
        await new EventsRepository({ query }).insertBatch([event('c-1', 0, 'tx-a')]);
        firstStored();
        await firstHeld;
      })
      .then(() => committed.push('tx-a'));
    await firstInserted;
    const secondTx = second
      .transaction((query) =>
        new EventsRepository({ query }).insertBatch([event('c-1', 1, 'tx-b')]),
      )
      .then(() => committed.push('tx-b'));
    await waitFor('the second storer committed, or waiting on a lock', async () => {
      if (committed.length > 0) return true;
      const result = await database.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE application_name = 'second-storer' AND wait_event_type = 'Lock'`,
      );
      return result.rows[0]?.n === 1;
    });
    commitFirst();
    await Promise.all([firstTx, secondTx]);
    expect(committed).toEqual(['tx-a', 'tx-b']);

    const positions = await database.db.query<{ event_id: string }>(
      `SELECT w.event_id FROM deliveries d JOIN webhook_events w ON w.id = d.event_row_id
       WHERE d.subscription_id = $1 ORDER BY d.order_seq`,
      [subscription.id],
    );
    expect(positions.rows.map((p) => p.event_id)).toEqual(committed);
    startSender();
    await r.waitForCount(2);
    expect(r.received.map((d) => sent(d).eventId)).toEqual(committed);
  });

  it('resumed after a pause, sends each key in stored order', async () => {
    const r = await receiver();
    const subscription = await subscribe(r.url, { ordering: ORDERING, maxInFlight: 20 });
    await call('POST', `/subscriptions/${subscription.id}/pause`);
    startSender();
    for (const seq of range(20)) {
      await events.insertBatch(range(5).map((k) => event(`c-${k}`, seq, `p-${k}-${seq}`)));
    }
    expect(r.received).toHaveLength(0);
    const resumed = await call('POST', `/subscriptions/${subscription.id}/resume`);
    expect(resumed.json()).toMatchObject({ state: 'active', ordering: ORDERING });

    await waitFor('all delivered', () => r.received.length >= 100);
    const byCustomer = successesByCustomer(r);
    for (const k of range(5)) expect(byCustomer.get(`c-${k}`), `c-${k}`).toEqual(range(20));
  });

  it('backfills an ordered subscription in stored order', async () => {
    // One attempt in five answered 500 and retried 20 ms later: out of order unless held.
    const random = generator(7);
    const r = await receiver(() => (random() < 0.2 ? 500 : 200));
    for (const seq of range(20)) {
      await events.insertBatch(
        range(5).map((k) => event(`b-${k}`, seq, `b-${k}-${seq}`, 'order-backfill')),
      );
    }
    const subscription = await subscribe(r.url, {
      ordering: ORDERING,
      maxInFlight: 20,
      retryDelaysMs: [20, 20, 20, 20, 20, 20, 20, 20],
      filter: { sources: ['order-backfill'] },
    });
    // Pages of 7 events: the keys' positions run on from page to page.
    const made = await deliveries.backfill(
      subscription.id,
      { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' },
      { dryRun: false, pageSize: 7 },
    );
    expect(made).toEqual({ matched: 100, queued: 100 });
    startSender();
    await waitFor('all delivered', () => [...successesByCustomer(r).values()].flat().length >= 100);
    const byCustomer = successesByCustomer(r);
    for (const k of range(5)) expect(byCustomer.get(`b-${k}`), `b-${k}`).toEqual(range(20));
  });

  it('moves the key on once an event failed for good; a replay sends it at once and the key goes on', async () => {
    let failing = true;
    const r = await receiver((d) => (failing && sent(d).eventId === 'r-0' ? 500 : 200));
    const subscription = await subscribe(r.url, { ordering: ORDERING, retryDelaysMs: [30, 30] });
    startSender();
    await events.insertBatch(range(3).map((seq) => event('c-r', seq, `r-${seq}`)));

    await waitFor('r-1 and r-2 delivered', () => successesByCustomer(r).get('c-r')?.length === 2);
    expect(successesByCustomer(r).get('c-r')).toEqual([1, 2]);
    // Its three attempts came first: the key waited for r-0's last retry.
    expect(r.received.map((d) => sent(d).eventId)).toEqual(['r-0', 'r-0', 'r-0', 'r-1', 'r-2']);
    const failed = (await deliveries.find({ eventId: 'r-0', limit: 1 })).items[0];
    expect(failed?.status).toBe('failed');

    // Paused, two more: r-3 is the key's head, r-4 waits. A replay of r-4 leaves it waiting;
    // one of r-0 (failed) makes it due now, outside the key's order.
    await call('POST', `/subscriptions/${subscription.id}/pause`);
    await events.insertBatch([event('c-r', 3, 'r-3'), event('c-r', 4, 'r-4')]);
    const r4 = (await deliveries.find({ eventId: 'r-4', limit: 1 })).items[0];
    const replayed = await call('POST', '/deliveries/replay', { ids: [r4?.id, failed?.id] });
    expect(replayed.json()).toMatchObject({ matched: 2 });
    expect((await deliveries.find({ eventId: 'r-4', limit: 1 })).items[0]?.nextAttemptAt).toBe(
      null,
    );
    failing = false;
    await call('POST', `/subscriptions/${subscription.id}/resume`);

    await waitFor('r-0, r-3 and r-4 delivered', () => r.received.length >= 8);
    const after = successesByCustomer(r).get('c-r')?.slice(2) ?? [];
    expect([...after].sort()).toEqual([0, 3, 4]);
    expect(after.indexOf(3)).toBeLessThan(after.indexOf(4));
  });

  it('passes the key on when a pending head leaves with its event (retention)', async () => {
    const subscription = await subscribe('http://127.0.0.1:9/hook', { ordering: ORDERING });
    await call('POST', `/subscriptions/${subscription.id}/pause`);
    await events.insertBatch(range(3).map((seq) => event('c-gone', seq, `gone-${seq}`)));
    const waitingOf = async (eventId: string) =>
      (await deliveries.find({ eventId, limit: 1 })).items[0]?.nextAttemptAt === null;
    expect([
      await waitingOf('gone-0'),
      await waitingOf('gone-1'),
      await waitingOf('gone-2'),
    ]).toEqual([false, true, true]);
    // Retention removes the head's event (and its delivery, by the cascade).
    await database.db.query("DELETE FROM webhook_events WHERE event_id = 'gone-0'");
    expect([await waitingOf('gone-1'), await waitingOf('gone-2')]).toEqual([false, true]);
  });
});
