import { Validator } from '@seriousme/openapi-schema-validator';
import {
  Database,
  DeliveriesRepository,
  EventsRepository,
  SubscriptionsRepository,
} from '@webhooks/db';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { buildOpsApp } from '../src/ops/ops-app.js';

const TOKEN = 'subscriptions-token-0123456789';
const HOUR_MS = 3_600_000;
/** Secrets as a receiver would be given them: `whsec_` + base64 of 24 and 32 bytes. */
const SECRET_A = `whsec_${Buffer.alloc(24, 1).toString('base64')}`;
const SECRET_B = `whsec_${Buffer.alloc(32, 2).toString('base64')}`;

/** Counts the statements it runs, to show a list is one query whatever its length. */
class CountingDatabase extends Database {
  statements = 0;
  override query: Database['query'] = (text, values) => {
    this.statements += 1;
    return super.query(text, values);
  };
}

let database: TestDatabase;
let counting: CountingDatabase;
let subscriptions: SubscriptionsRepository;
let app: FastifyInstance;
/** The same routes on a consumer started without OPS_TOKEN. */
let openApp: FastifyInstance;

function opsApp(opsToken: string | undefined) {
  return buildOpsApp({
    logger: testLogger(),
    readiness: async () => ({ broker: true, database: true }),
    events: new EventsRepository(database.db),
    metricsRegistry: new Registry(),
    opsToken,
    delivery: { subscriptions, deliveries: new DeliveriesRepository(database.db) },
  });
}

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  counting = new CountingDatabase({
    connectionString: database.url,
    logger: testLogger(),
    maxConnections: 2,
    statementTimeoutMs: 30_000,
    applicationName: 'webhook-tests',
  });
  subscriptions = new SubscriptionsRepository(counting);
  app = opsApp(TOKEN);
  openApp = opsApp(undefined);
});

afterAll(async () => {
  await app?.close();
  await openApp?.close();
  await counting?.close();
  await database?.drop();
});

// Each test starts with no subscription (deliveries go with them).
beforeEach(async () => {
  await database.db.query('DELETE FROM subscriptions');
});

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** `null` sends no Authorization header. */
const call = (method: Method, url: string, payload?: unknown, token: string | null = TOKEN) =>
  app.inject({
    method,
    url,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });

async function create(body: Record<string, unknown>) {
  const res = await call('POST', '/subscriptions', body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

const sql = (text: string, values: unknown[] = []) => database.db.query(text, values);

/** A stored event, as the consumer stores them; returns its row's uuid. */
async function storeEvent(eventId: string): Promise<string> {
  const result = await database.db.query<{ id: string }>(
    `INSERT INTO webhook_events (event_id, source, type, data, "timestamp")
     VALUES ($1, 'shop', 'order.paid', '{}', now()) RETURNING id`,
    [eventId],
  );
  return result.rows[0]?.id ?? '';
}

/** A delivery of a new event to `subscriptionId`; returns its uuid. */
async function delivery(
  subscriptionId: string,
  columns: { status: string; deliveredAt?: Date; lastAttemptAt?: Date },
): Promise<string> {
  const eventRowId = await storeEvent(`e-${Math.random()}`);
  const result = await database.db.query<{ id: string }>(
    `INSERT INTO deliveries (subscription_id, event_row_id, event_created_at, status,
       delivered_at, last_attempt_at)
     VALUES ($1, $2, (SELECT created_at FROM webhook_events WHERE id = $2), $3, $4, $5)
     RETURNING id`,
    [
      subscriptionId,
      eventRowId,
      columns.status,
      columns.deliveredAt ?? null,
      columns.lastAttemptAt ?? null,
    ],
  );
  return result.rows[0]?.id ?? '';
}

async function attempt(
  deliveryId: string,
  at: Date,
  outcome: { httpStatus: number } | { error: string },
) {
  await sql(
    `INSERT INTO delivery_attempts (delivery_id, subscription_id, attempted_at, http_status,
       error, duration_ms)
     SELECT $1, subscription_id, $2, $3, $4, 12 FROM deliveries WHERE id = $1`,
    [
      deliveryId,
      at,
      'httpStatus' in outcome ? outcome.httpStatus : null,
      'error' in outcome ? outcome.error : null,
    ],
  );
}

const ago = (ms: number) => new Date(Date.now() - ms);

describe('POST /subscriptions', () => {
  it('answers 201 with the subscription, its defaults and a generated secret, shown once', async () => {
    const res = await call('POST', '/subscriptions', {
      name: 'billing',
      url: 'https://billing.example/hooks',
    });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(res.headers.location).toBe(`/subscriptions/${created.id}`);
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'billing',
      url: 'https://billing.example/hooks',
      filter: null,
      retryDelaysMs: [5000, 30000, 120000, 600000, 3600000, 21600000],
      timeoutMs: 10000,
      maxInFlight: 10,
      rateLimitPerSecond: null,
      ordering: null,
      state: 'active',
      pausedReason: null,
      pausedAt: null,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      updatedAt: created.createdAt,
      previousSecretExpiresAt: null,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+={0,2}$/),
      health: {
        deliveredLastHour: 0,
        failedLastHour: 0,
        failed: 0,
        pending: 0,
        lastError: null,
      },
    });
    expect(Buffer.from(created.secret.slice('whsec_'.length), 'base64')).toHaveLength(32);

    const other = await create({ name: 'other', url: 'http://other.example/' });
    expect(other.secret).not.toBe(created.secret);
    expect(await subscriptions.signingSecrets(created.id)).toEqual([created.secret]);
  });

  it('keeps the given settings and secret; no read ever shows the secret', async () => {
    const created = await create({
      name: '  crm  ',
      url: 'https://crm.example/in?x=1',
      filter: { sources: ['shop'], types: ['invoice.*', 'order.paid'] },
      secret: SECRET_A,
      retryDelaysMs: [],
      timeoutMs: 100,
      maxInFlight: 1000,
      rateLimitPerSecond: 10_000,
    });
    expect(created).toMatchObject({
      name: 'crm',
      filter: { sources: ['shop'], types: ['invoice.*', 'order.paid'] },
      secret: SECRET_A,
      retryDelaysMs: [],
      timeoutMs: 100,
      maxInFlight: 1000,
      rateLimitPerSecond: 10_000,
    });
    expect(await subscriptions.signingSecrets(created.id)).toEqual([SECRET_A]);

    const one = await call('GET', `/subscriptions/${created.id}`);
    expect(one.statusCode).toBe(200);
    const { secret: _shownOnce, ...withoutSecret } = created;
    expect(one.json()).toEqual(withoutSecret);
    const list = await call('GET', '/subscriptions');
    expect(list.json()).toEqual({ items: [withoutSecret], nextCursor: null });
    for (const read of [one, list]) expect(read.body).not.toContain('whsec_');
  });

  it.each([
    ['a type prefix', { types: ['invoice.*'] }, { types: ['invoice.*'] }],
    ['every type', { types: ['*'] }, { types: ['*'] }],
    ['sources only', { sources: ['shop', 'crm'] }, { sources: ['shop', 'crm'] }],
    ['nothing in it', {}, null],
    ['null', null, null],
  ])('takes a filter of %s', async (_case, filter, shown) => {
    const created = await create({ name: 'f', url: 'https://f.example/', filter });
    expect(created.filter).toEqual(shown);
    expect((await call('GET', `/subscriptions/${created.id}`)).json().filter).toEqual(shown);
  });

  it.each([
    ['a * inside a type', 'filter.types.0', { filter: { types: ['in*voice'] } }],
    ['a * inside a later type', 'filter.types.1', { filter: { types: ['a', 'b.**'] } }],
    ['a * in a source', 'filter.sources.0', { filter: { sources: ['sh*'] } }],
    ['no types', 'filter.types', { filter: { types: [] } }],
    ['an empty type', 'filter.types.0', { filter: { types: [''] } }],
    ['a type of 256 characters', 'filter.types.0', { filter: { types: ['t'.repeat(256)] } }],
    ['an unknown filter field', 'filter.kinds', { filter: { kinds: ['x'] } }],
    ['a filter that is a list', 'filter', { filter: ['shop'] }],
    ['no name', 'name', { name: undefined }],
    ['a blank name', 'name', { name: '   ' }],
    ['a name of 256 characters', 'name', { name: 'n'.repeat(256) }],
    ['a name with NUL', 'name', { name: 'a\u0000b' }],
    ['no url', 'url', { url: undefined }],
    ['a relative url', 'url', { url: '/hooks' }],
    ['an ftp url', 'url', { url: 'ftp://files.example/' }],
    ['a url with credentials', 'url', { url: 'https://user:pw@x.example/' }],
    ['a url of 2049 characters', 'url', { url: `https://x.example/${'p'.repeat(2031)}` }],
    ['a secret without its prefix', 'secret', { secret: SECRET_A.slice(6) }],
    ['a secret of 23 bytes', 'secret', { secret: `whsec_${Buffer.alloc(23).toString('base64')}` }],
    ['a secret of 65 bytes', 'secret', { secret: `whsec_${Buffer.alloc(65).toString('base64')}` }],
    ['a secret not in base64', 'secret', { secret: `whsec_${'-'.repeat(32)}` }],
    // The same key as `AQ==` (its unused bits set), and `AQ` unpadded: not what a receiver holds.
    ['a secret in loose base64', 'secret', { secret: `whsec_${'A'.repeat(32)}AR==` }],
    ['a secret without its padding', 'secret', { secret: `whsec_${'A'.repeat(32)}AQ` }],
    ['21 retry delays', 'retryDelaysMs', { retryDelaysMs: Array(21).fill(1000) }],
    ['a retry delay of 0', 'retryDelaysMs.1', { retryDelaysMs: [1000, 0] }],
    ['a retry delay over a day', 'retryDelaysMs.0', { retryDelaysMs: [86_400_001] }],
    ['a fractional retry delay', 'retryDelaysMs.0', { retryDelaysMs: [1.5] }],
    ['a timeout of 99 ms', 'timeoutMs', { timeoutMs: 99 }],
    ['a timeout over 60 s', 'timeoutMs', { timeoutMs: 60_001 }],
    ['a timeout as text', 'timeoutMs', { timeoutMs: '1000' }],
    ['0 in flight', 'maxInFlight', { maxInFlight: 0 }],
    ['1001 in flight', 'maxInFlight', { maxInFlight: 1001 }],
    ['a rate limit of 0', 'rateLimitPerSecond', { rateLimitPerSecond: 0 }],
    ['a rate limit over 10,000', 'rateLimitPerSecond', { rateLimitPerSecond: 10_001 }],
    ['a fractional rate limit', 'rateLimitPerSecond', { rateLimitPerSecond: 2.5 }],
    ['an ordering key that is no pointer', 'ordering.key', { ordering: { key: 'data/id' } }],
    ['an ordering key outside the event', 'ordering.key', { ordering: { key: '/timestamp' } }],
    ['a bad escape in an ordering key', 'ordering.key', { ordering: { key: '/data/a~2' } }],
    ['an ordering without its key', 'ordering.key', { ordering: {} }],
    ['an unknown field', 'colour', { colour: 'blue' }],
    ['a state', 'state', { state: 'paused' }],
  ])('refuses %s: 400 validation_failed naming %s', async (_case, path, change) => {
    const res = await call('POST', '/subscriptions', {
      name: 'refused',
      url: 'https://refused.example/',
      ...change,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: 'validation_failed',
      issues: [{ path, message: expect.any(String) }],
    });
    expect((await call('GET', '/subscriptions')).json().items).toEqual([]);
  });

  it('takes the bounds themselves', async () => {
    const created = await create({
      name: 'bounds',
      url: `https://x.example/${'p'.repeat(2048 - 'https://x.example/'.length)}`,
      secret: `whsec_${Buffer.alloc(64, 7).toString('base64')}`,
      retryDelaysMs: [...Array(19).fill(1), 86_400_000],
      timeoutMs: 60_000,
      maxInFlight: 1,
    });
    expect(created).toMatchObject({ timeoutMs: 60_000, maxInFlight: 1 });
    expect(created.url).toHaveLength(2048);
  });

  it('answers 409 name_taken for a name another subscription has', async () => {
    await create({ name: 'billing', url: 'https://a.example/' });
    const again = await call('POST', '/subscriptions', {
      name: ' billing',
      url: 'https://b.example/',
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toEqual({ error: 'name_taken' });
    expect((await call('GET', '/subscriptions')).json().items).toHaveLength(1);
  });
});

describe('GET /subscriptions', () => {
  it('lists by name in pages, with one statement per page', async () => {
    for (const name of ['delta', 'alpha', 'echo', 'charlie', 'bravo']) {
      await create({ name, url: 'https://x.example/' });
    }
    const names: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      counting.statements = 0;
      const res = await call('GET', `/subscriptions?limit=2${query}`);
      expect(res.statusCode).toBe(200);
      expect(counting.statements).toBe(1);
      names.push(...res.json().items.map((s: { name: string }) => s.name));
      cursor = res.json().nextCursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBe(3);
    expect(names).toEqual(['alpha', 'bravo', 'charlie', 'delta', 'echo']);
  });

  it('refuses a bad limit or cursor with 400 invalid_query', async () => {
    for (const [query, path] of [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
      ['name=x', 'name'],
    ]) {
      const res = await call('GET', `/subscriptions?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_query', issues: [{ path }] });
    }
  });

  it('GET /subscriptions/:id: 404 when there is none, 400 for a non-uuid', async () => {
    const missing = await call('GET', '/subscriptions/00000000-0000-4000-8000-000000000000');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'not_found' });
    const bad = await call('GET', '/subscriptions/not-a-uuid');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'invalid_query', issues: [{ path: 'id' }] });
  });
});

describe('health', () => {
  it('counts deliveries of the last hour, pending ones and the last error, per subscription', async () => {
    const busy = await create({ name: 'busy', url: 'https://busy.example/' });
    const quiet = await create({ name: 'quiet', url: 'https://quiet.example/' });

    // Delivered: two within the hour, one before it.
    await delivery(busy.id, { status: 'delivered', deliveredAt: ago(60_000) });
    await delivery(busy.id, { status: 'delivered', deliveredAt: ago(HOUR_MS - 60_000) });
    await delivery(busy.id, { status: 'delivered', deliveredAt: ago(HOUR_MS + 60_000) });
    // Failed: one whose last attempt was within the hour, one before.
    const failed = await delivery(busy.id, { status: 'failed', lastAttemptAt: ago(120_000) });
    await delivery(busy.id, { status: 'failed', lastAttemptAt: ago(2 * HOUR_MS) });
    // Pending: three, one of them retrying after a timeout.
    const retrying = await delivery(busy.id, { status: 'pending', lastAttemptAt: ago(30_000) });
    await delivery(busy.id, { status: 'pending' });
    await delivery(busy.id, { status: 'pending' });
    await attempt(failed, ago(120_000), { httpStatus: 503 });
    await attempt(retrying, ago(40_000), { error: 'timeout after 10000 ms' });
    // The latest attempt of all got a 2xx: the last error is still the one before it.
    await attempt(retrying, ago(30_000), { httpStatus: 204 });

    await delivery(quiet.id, { status: 'pending' });
    const quietFailed = await delivery(quiet.id, { status: 'failed', lastAttemptAt: ago(1000) });
    await attempt(quietFailed, ago(1000), { httpStatus: 500 });
    await attempt(quietFailed, ago(5000), { error: 'connection refused' });

    const busyHealth = {
      deliveredLastHour: 2,
      failedLastHour: 1,
      failed: 2,
      pending: 3,
      lastError: { at: expect.any(String), error: 'timeout after 10000 ms' },
    };
    const quietHealth = {
      deliveredLastHour: 0,
      failedLastHour: 1,
      failed: 1,
      pending: 1,
      lastError: { at: expect.any(String), error: 'HTTP 500' },
    };
    const byId = (await call('GET', `/subscriptions/${busy.id}`)).json().health;
    expect(byId).toEqual(busyHealth);
    expect(Date.parse(byId.lastError.at)).toBeCloseTo(ago(40_000).getTime(), -3);
    expect((await call('GET', `/subscriptions/${quiet.id}`)).json().health).toEqual(quietHealth);
    const list = (await call('GET', '/subscriptions')).json().items;
    expect(list.map((s: { health: unknown }) => s.health)).toEqual([busyHealth, quietHealth]);
  });
});

describe('PATCH /subscriptions/:id', () => {
  it('changes the given settings only, and shows no secret when none was set', async () => {
    const created = await create({
      name: 'ops',
      url: 'https://a.example/',
      filter: { sources: ['shop'], types: ['order.*'] },
    });
    const res = await call('PATCH', `/subscriptions/${created.id}`, {
      url: 'https://b.example/',
      filter: { types: ['invoice.*'] },
      retryDelaysMs: [1000],
      timeoutMs: 2000,
      maxInFlight: 3,
      rateLimitPerSecond: 20,
    });
    expect(res.statusCode).toBe(200);
    const updated = res.json();
    expect(updated).toMatchObject({
      id: created.id,
      name: 'ops',
      url: 'https://b.example/',
      filter: { types: ['invoice.*'] },
      retryDelaysMs: [1000],
      timeoutMs: 2000,
      maxInFlight: 3,
      rateLimitPerSecond: 20,
      createdAt: created.createdAt,
      previousSecretExpiresAt: null,
    });
    expect(updated).not.toHaveProperty('secret');
    expect(updated.updatedAt > created.updatedAt).toBe(true);
    expect(await subscriptions.signingSecrets(created.id)).toEqual([created.secret]);

    const cleared = await call('PATCH', `/subscriptions/${created.id}`, {
      filter: null,
      rateLimitPerSecond: null,
    });
    expect(cleared.json()).toMatchObject({
      filter: null,
      rateLimitPerSecond: null,
      url: 'https://b.example/',
    });
    expect((await call('GET', `/subscriptions/${created.id}`)).json()).toEqual(cleared.json());
  });

  it('answers 409 name_taken for a rename to a name another subscription has', async () => {
    await create({ name: 'first', url: 'https://a.example/' });
    const second = await create({ name: 'second', url: 'https://a.example/' });
    const taken = await call('PATCH', `/subscriptions/${second.id}`, { name: 'first' });
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toEqual({ error: 'name_taken' });
    expect((await call('GET', `/subscriptions/${second.id}`)).json().name).toBe('second');
    // Its own name is not taken, and a free one is.
    expect(
      (await call('PATCH', `/subscriptions/${second.id}`, { name: 'second' })).statusCode,
    ).toBe(200);
    const renamed = await call('PATCH', `/subscriptions/${second.id}`, { name: 'third' });
    expect(renamed.json().name).toBe('third');
  });

  it('rotates the secret: shown once, the old one signs for 24 hours more, then only the new', async () => {
    const created = await create({ name: 'rotating', url: 'https://a.example/', secret: SECRET_A });
    const res = await call('PATCH', `/subscriptions/${created.id}`, { secret: SECRET_B });
    expect(res.statusCode).toBe(200);
    const rotated = res.json();
    expect(rotated.secret).toBe(SECRET_B);
    expect(Date.parse(rotated.previousSecretExpiresAt)).toBeGreaterThan(
      Date.now() + 24 * HOUR_MS - 60_000,
    );
    expect(Date.parse(rotated.previousSecretExpiresAt)).toBeLessThan(
      Date.now() + 24 * HOUR_MS + 60_000,
    );
    expect(await subscriptions.signingSecrets(created.id)).toEqual([SECRET_B, SECRET_A]);

    const read = await call('GET', `/subscriptions/${created.id}`);
    expect(read.json().previousSecretExpiresAt).toBe(rotated.previousSecretExpiresAt);
    expect(read.body).not.toContain('whsec_');

    // The same secret again rotates nothing: the old one keeps its time.
    await call('PATCH', `/subscriptions/${created.id}`, { secret: SECRET_B });
    expect(await subscriptions.signingSecrets(created.id)).toEqual([SECRET_B, SECRET_A]);
    expect((await call('GET', `/subscriptions/${created.id}`)).json().previousSecretExpiresAt).toBe(
      rotated.previousSecretExpiresAt,
    );

    await sql(
      "UPDATE subscriptions SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1",
      [created.id],
    );
    expect(await subscriptions.signingSecrets(created.id)).toEqual([SECRET_B]);
    expect((await call('GET', `/subscriptions/${created.id}`)).json().previousSecretExpiresAt).toBe(
      null,
    );
  });

  it('refuses bad changes with 400 naming the field, and an unknown id with 404', async () => {
    const created = await create({ name: 'p', url: 'https://a.example/' });
    for (const [body, path] of [
      [{ filter: { types: ['in*voice'] } }, 'filter.types.0'],
      [{ timeoutMs: 50 }, 'timeoutMs'],
      [{ secret: 'whsec_' }, 'secret'],
      [{ id: created.id }, 'id'],
      [{}, ''],
    ] as const) {
      const res = await call('PATCH', `/subscriptions/${created.id}`, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error).toBe('validation_failed');
      expect(res.json().issues).toContainEqual({ path, message: expect.any(String) });
    }
    const missing = await call('PATCH', '/subscriptions/00000000-0000-4000-8000-000000000000', {
      name: 'x',
    });
    expect(missing.statusCode).toBe(404);
    expect((await call('PATCH', '/subscriptions/nope', { name: 'x' })).statusCode).toBe(400);
  });
});

describe('DELETE /subscriptions/:id', () => {
  it('deletes it: 204, then 404', async () => {
    const created = await create({ name: 'gone', url: 'https://a.example/' });
    await delivery(created.id, { status: 'delivered', deliveredAt: ago(1000) });
    const res = await call('DELETE', `/subscriptions/${created.id}`);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await call('GET', `/subscriptions/${created.id}`)).statusCode).toBe(404);
    expect((await call('DELETE', `/subscriptions/${created.id}`)).statusCode).toBe(404);
    expect((await call('DELETE', '/subscriptions/not-a-uuid')).statusCode).toBe(400);
  });

  it('refuses while deliveries are pending and it is active (409 subscription_active), not once paused', async () => {
    const created = await create({ name: 'busy', url: 'https://a.example/' });
    await delivery(created.id, { status: 'pending' });
    const refused = await call('DELETE', `/subscriptions/${created.id}`);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toEqual({ error: 'subscription_active' });
    expect((await call('GET', `/subscriptions/${created.id}`)).statusCode).toBe(200);

    const paused = await call('POST', `/subscriptions/${created.id}/pause`);
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ id: created.id, state: 'paused' });
    expect(paused.json().secret).toBeUndefined();
    expect((await call('DELETE', `/subscriptions/${created.id}`)).statusCode).toBe(204);
    const left = await sql('SELECT 1 FROM deliveries WHERE subscription_id = $1', [created.id]);
    expect(left.rowCount).toBe(0);
  });
});

describe('POST /subscriptions/:id/pause and /resume', () => {
  it('changes the state and nothing else; 404 for an unknown id, 400 for a non-uuid', async () => {
    const created = await create({ name: 'steer', url: 'https://a.example/' });
    expect((await call('POST', `/subscriptions/${created.id}/pause`)).json().state).toBe('paused');
    expect((await call('GET', `/subscriptions/${created.id}`)).json().state).toBe('paused');
    const resumed = (await call('POST', `/subscriptions/${created.id}/resume`)).json();
    expect(resumed.state).toBe('active');
    expect(resumed.url).toBe('https://a.example/');
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await call('POST', `/subscriptions/${unknown}/pause`)).statusCode).toBe(404);
    expect((await call('POST', '/subscriptions/nope/resume')).statusCode).toBe(400);
    expect(
      (await call('POST', `/subscriptions/${created.id}/pause`, undefined, null)).statusCode,
    ).toBe(401);
  });
});

describe('automatic pause (pauseFailing)', () => {
  const DAY_MS = 24 * HOUR_MS;
  const REASON = 'every attempt failed for 24 h';

  /** A subscription with a failed attempt `agesMs` ago each (a timeout for the latest). */
  async function failing(name: string, ...agesMs: number[]) {
    const created = await create({ name, url: `https://${name}.example/` });
    const id = await delivery(created.id, { status: 'pending' });
    for (const age of agesMs) await attempt(id, ago(age), { httpStatus: 503 });
    await attempt(id, ago(Math.min(...agesMs) - 1000), { error: 'timeout after 10000 ms' });
    return created;
  }

  it('pauses an active subscription whose attempts all failed for the window, and only it', async () => {
    const dead = await failing('dead', DAY_MS + 60_000, HOUR_MS);
    // Failing for less than the window.
    await failing('young', DAY_MS - 60_000, HOUR_MS);
    // A 2xx since the first failure of the window.
    const recovered = await failing('recovered', DAY_MS + 60_000, HOUR_MS);
    await delivery(recovered.id, { status: 'delivered', deliveredAt: ago(2 * HOUR_MS) });
    // Failed long ago, not tried since: nothing is still failing.
    await failing('idle', 3 * DAY_MS, DAY_MS + 60_000);
    // Paused by an operator: left as it is.
    const manual = await failing('manual', DAY_MS + 60_000, HOUR_MS);
    await call('POST', `/subscriptions/${manual.id}/pause`);
    // Resumed after the failures began: the clock starts again at the resume.
    const resumed = await failing('resumed', DAY_MS + 60_000, HOUR_MS);
    await call('POST', `/subscriptions/${resumed.id}/pause`);
    await call('POST', `/subscriptions/${resumed.id}/resume`);

    expect(await subscriptions.pauseFailing(DAY_MS, REASON)).toEqual([
      { id: dead.id, name: 'dead' },
    ]);
    const shown = (await call('GET', `/subscriptions/${dead.id}`)).json();
    expect(shown).toMatchObject({
      state: 'paused',
      pausedReason: `${REASON} (last error: timeout after 10000 ms)`,
    });
    expect(Date.parse(shown.pausedAt)).toBeGreaterThan(Date.now() - 60_000);
    const manualShown = (await call('GET', `/subscriptions/${manual.id}`)).json();
    expect(manualShown).toMatchObject({ state: 'paused', pausedReason: null });
    expect(manualShown.pausedAt).not.toBeNull();
    const states = (await call('GET', '/subscriptions'))
      .json()
      .items.map((s: { name: string; state: string }) => `${s.name} ${s.state}`);
    expect(states).toEqual([
      'dead paused',
      'idle active',
      'manual paused',
      'recovered active',
      'resumed active',
      'young active',
    ]);
    // Once paused, a check finds nothing more; a resume clears the reason and keeps it active.
    expect(await subscriptions.pauseFailing(DAY_MS, REASON)).toEqual([]);
    const back = (await call('POST', `/subscriptions/${dead.id}/resume`)).json();
    expect(back).toMatchObject({ state: 'active', pausedReason: null, pausedAt: null });
    expect(await subscriptions.pauseFailing(DAY_MS, REASON)).toEqual([]);
  });

  it('keeps the reason of an automatic pause when an operator pauses it again', async () => {
    const dead = await failing('dead-again', DAY_MS + 60_000, HOUR_MS);
    await subscriptions.pauseFailing(DAY_MS, REASON);
    const before = (await call('GET', `/subscriptions/${dead.id}`)).json();
    const again = (await call('POST', `/subscriptions/${dead.id}/pause`)).json();
    expect(again.pausedReason).toMatch(/^every attempt failed for 24 h/);
    expect(again.pausedAt).toBe(before.pausedAt);
  });
});

describe('access', () => {
  const routes: Array<[Method, string, Record<string, unknown>?]> = [
    ['GET', '/subscriptions'],
    ['POST', '/subscriptions', { name: 'x', url: 'https://x.example/' }],
    ['GET', '/subscriptions/00000000-0000-4000-8000-000000000000'],
    ['PATCH', '/subscriptions/00000000-0000-4000-8000-000000000000', { name: 'y' }],
    ['DELETE', '/subscriptions/00000000-0000-4000-8000-000000000000'],
  ];

  it.each(routes)(
    '%s %s answers 403 ops_token_required while OPS_TOKEN is unset',
    async (method, url, payload) => {
      const res = await openApp.inject({
        method,
        url,
        ...(payload === undefined ? {} : { payload }),
      });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({ error: 'ops_token_required' });
      expect((await sql('SELECT 1 FROM subscriptions')).rowCount).toBe(0);
    },
  );

  it('leaves the other routes as they were without OPS_TOKEN: open', async () => {
    expect((await openApp.inject('/events')).statusCode).toBe(200);
  });

  it.each(routes)(
    '%s %s answers 401 without the token or with a wrong one',
    async (method, url, payload) => {
      for (const token of [null, 'not-the-token']) {
        const res = await call(method, url, payload, token);
        expect(res.statusCode).toBe(401);
        expect(res.json()).toEqual({ error: 'unauthorized' });
      }
      expect((await sql('SELECT 1 FROM subscriptions')).rowCount).toBe(0);
    },
  );
});

describe('OpenAPI', () => {
  it('documents the subscription routes in a valid document', async () => {
    const document = (await app.inject('/docs/json')).json();
    const validation = await new Validator().validate(document);
    expect(validation.errors ?? []).toEqual([]);
    const paths = document.paths;
    expect(Object.keys(paths['/subscriptions'])).toEqual(['get', 'post']);
    expect(Object.keys(paths['/subscriptions/{id}'])).toEqual(['get', 'patch', 'delete']);
    const createBody = paths['/subscriptions'].post.requestBody.content['application/json'].schema;
    expect(createBody.required).toEqual(['name', 'url']);
    expect(createBody.properties.timeoutMs).toMatchObject({ default: 10000, minimum: 100 });
    expect(Object.keys(paths['/subscriptions/{id}'].delete.responses)).toEqual([
      '204',
      '400',
      '401',
      '403',
      '404',
      '409',
    ]);
    const backfill = paths['/subscriptions/{id}/backfill'].post;
    expect(backfill.requestBody.content['application/json'].schema.required).toEqual([
      'from',
      'to',
    ]);
    expect(Object.keys(backfill.responses)).toEqual(['200', '400', '401', '403', '404']);
    expect(Object.keys(paths['/subscriptions/{id}/test'].post.responses)).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
    ]);
    const shown = paths['/subscriptions/{id}'].get.responses['200'].content['application/json'];
    expect(shown.schema.required).toEqual(expect.arrayContaining(['pausedReason', 'pausedAt']));
  });
});
