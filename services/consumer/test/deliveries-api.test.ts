import {
  DeliveriesRepository,
  type EventRow,
  EventsRepository,
  SubscriptionsRepository,
} from '@webhooks/db';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { buildOpsApp } from '../src/ops/ops-app.js';

// The record of deliveries on the ops API: a subscription's deliveries, one with its attempts,
// and replay. Deliveries are made by storing events, attempts recorded as the sender does.
const TOKEN = 'deliveries-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
let database: TestDatabase;
let deliveries: DeliveriesRepository;
let app: FastifyInstance;
let subscriptionId: string;
let other: string;
const stored = new Map<string, string>();

function opsApp(opsToken: string | undefined) {
  return buildOpsApp({
    logger: testLogger(),
    readiness: async () => ({ broker: true, database: true }),
    events: new EventsRepository(database.db),
    metricsRegistry: new Registry(),
    opsToken,
    delivery: { subscriptions: new SubscriptionsRepository(database.db), deliveries },
  });
}

const event = (eventId: string, type = 'order.paid'): EventRow => ({
  eventId,
  source: 'shop',
  type,
  data: { eventId },
  timestamp: '2026-05-06T07:08:09Z',
});

/** Records one attempt for the delivery of `eventId`, as the sender would. */
async function attempt(eventId: string, outcome: { httpStatus: number } | { error: string }) {
  const claimed = await deliveries.claimDue({ limit: 100, leaseMarginMs: 1000 });
  const mine = claimed.find((d) => d.webhookId === `msg_${stored.get(eventId)}`);
  if (mine === undefined) throw new Error(`${eventId} was not due`);
  const delivered = 'httpStatus' in outcome && outcome.httpStatus < 300;
  await deliveries.recordAttempts([
    {
      deliveryId: mine.id,
      attemptedAt: new Date(),
      durationMs: 7,
      ...outcome,
      responseBody: delivered ? 'ok' : 'nope',
      status: delivered ? 'delivered' : 'failed',
    },
  ]);
  // What else was claimed goes back.
  await deliveries.release(claimed.filter((d) => d !== mine).map((d) => d.id));
  return mine.id;
}

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  deliveries = new DeliveriesRepository(database.db);
  app = opsApp(TOKEN);
  const create = async (name: string, types: string[]) =>
    (
      await app.inject({
        method: 'POST',
        url: '/subscriptions',
        headers: auth,
        payload: { name, url: 'http://127.0.0.1:9/hook', filter: { types } },
      })
    ).json().id as string;
  subscriptionId = await create('orders', ['order.*']);
  other = await create('refunds', ['refund']);
  const events = new EventsRepository(database.db);
  const batch = await events.insertBatch([
    event('e1'),
    event('e2'),
    event('e3'),
    event('r1', 'refund'),
  ]);
  for (const row of batch.stored) stored.set(row.eventId, row.id);
  await attempt('e1', { httpStatus: 200 });
  await attempt('e2', { httpStatus: 500 });
  await attempt('e3', { error: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9' });
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const get = (url: string) => app.inject({ method: 'GET', url, headers: auth });
const replay = (payload: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: '/deliveries/replay', headers: auth, payload });

describe('the deliveries API', () => {
  it("lists a subscription's deliveries with filters and cursor pages", async () => {
    const all = await get(`/subscriptions/${subscriptionId}/deliveries`);
    expect(all.statusCode).toBe(200);
    expect(
      all
        .json()
        .items.map((d: { eventId: string }) => d.eventId)
        .sort(),
    ).toEqual(['e1', 'e2', 'e3']);
    const failed = await get(`/subscriptions/${subscriptionId}/deliveries?status=failed`);
    expect(
      failed
        .json()
        .items.map((d: { eventId: string }) => d.eventId)
        .sort(),
    ).toEqual(['e2', 'e3']);
    const one = (await get(`/subscriptions/${subscriptionId}/deliveries?eventId=e2`)).json();
    expect(one.items).toHaveLength(1);
    expect(one.items[0]).toMatchObject({
      eventId: 'e2',
      source: 'shop',
      status: 'failed',
      attempts: 1,
      lastError: 'HTTP 500',
      webhookId: `msg_${stored.get('e2')}`,
      eventRowId: stored.get('e2'),
    });

    const first = (await get(`/subscriptions/${subscriptionId}/deliveries?limit=2`)).json();
    expect(first.items).toHaveLength(2);
    const second = (
      await get(`/subscriptions/${subscriptionId}/deliveries?limit=2&cursor=${first.nextCursor}`)
    ).json();
    expect(second.items).toHaveLength(1);
    expect(second.nextCursor).toBeNull();
    expect(new Set([...first.items, ...second.items].map((d) => d.id)).size).toBe(3);

    const bad = await get(`/subscriptions/${subscriptionId}/deliveries?status=lost`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].path).toBe('status');
    expect((await get('/subscriptions/not-a-uuid/deliveries')).statusCode).toBe(400);
    const unknown = await get('/subscriptions/00000000-0000-4000-8000-000000000000/deliveries');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: 'not_found' });
  });

  it('shows one delivery with every attempt', async () => {
    const id = (await get(`/subscriptions/${subscriptionId}/deliveries?eventId=e3`)).json().items[0]
      .id;
    const delivery = (await get(`/deliveries/${id}`)).json();
    expect(delivery.attemptLog).toEqual([
      {
        attemptedAt: expect.stringMatching(/Z$/),
        httpStatus: null,
        error: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9',
        durationMs: 7,
        responseBody: 'nope',
      },
    ]);
    expect((await get('/deliveries/00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
  });

  it('replays by ids or by filter, dry run first; a replay appends attempts', async () => {
    const dry = await replay({ subscriptionId, status: 'failed', dryRun: true });
    expect(dry.json()).toEqual({ matched: 2, queued: 0 });
    const byFilter = await replay({ subscriptionId, status: 'failed' });
    expect(byFilter.json()).toEqual({ matched: 2, queued: 2 });
    const pending = (
      await get(`/subscriptions/${subscriptionId}/deliveries?status=pending`)
    ).json();
    expect(pending.items).toHaveLength(2);
    expect(pending.items.every((d: { attempts: number }) => d.attempts === 0)).toBe(true);

    // Sent again and delivered: the first attempt stays, the second is appended.
    const id = await attempt('e2', { httpStatus: 204 });
    const delivery = (await get(`/deliveries/${id}`)).json();
    expect(delivery.status).toBe('delivered');
    expect(delivery.attemptLog.map((a: { httpStatus: number }) => a.httpStatus)).toEqual([
      500, 204,
    ]);

    const e1 = (await get(`/subscriptions/${subscriptionId}/deliveries?eventId=e1`)).json().items[0]
      .id;
    expect((await replay({ ids: [e1] })).json()).toEqual({ matched: 1, queued: 1 });
    // Another subscription's deliveries are never selected by this one's filter.
    const refunds = (await get(`/subscriptions/${other}/deliveries`)).json();
    expect(refunds.items[0].status).toBe('pending');
    expect((await replay({ subscriptionId: other, status: 'failed' })).json()).toEqual({
      matched: 0,
      queued: 0,
    });
  });

  it('refuses a replay that names neither ids nor a subscription, or both', async () => {
    for (const payload of [{}, { status: 'failed' }, { ids: [subscriptionId], subscriptionId }]) {
      const answer = await replay(payload);
      expect(answer.statusCode).toBe(400);
      expect(answer.json().error).toBe('validation_failed');
    }
    const bad = await replay({ ids: ['nope'] });
    expect(bad.json().issues[0].path).toBe('ids.0');
  });

  it('is never open: 403 without OPS_TOKEN, 401 without the token', async () => {
    const open = opsApp(undefined);
    for (const url of [
      `/subscriptions/${subscriptionId}/deliveries`,
      `/deliveries/${subscriptionId}`,
    ]) {
      const answer = await open.inject({ method: 'GET', url });
      expect(answer.statusCode).toBe(403);
      expect(answer.json()).toEqual({ error: 'ops_token_required' });
    }
    expect(
      (await open.inject({ method: 'POST', url: '/deliveries/replay', payload: {} })).statusCode,
    ).toBe(403);
    await open.close();
    expect((await app.inject({ method: 'GET', url: '/deliveries/replay' })).statusCode).toBe(401);
  });
});
