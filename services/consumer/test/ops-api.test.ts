import type { QueueAdmin, Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import type { IngestHarness } from '../../../test/helpers/pipeline.js';
import {
  failInserts,
  type PipelineFixture,
  startPipeline,
} from '../../../test/helpers/pipeline-fixture.js';
import { metricValue } from '../../../test/helpers/prometheus.js';
import type { TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerService } from '../src/consumer-service.js';

const TOKEN = 'test-ops-token-0123456789';
let database: TestDatabase;
let topology: Topology;
let ingest: IngestHarness;
let consumer: ConsumerService;
let admin: QueueAdmin;
const ingestLogs = captureLogs('debug');
const consumerLogs = captureLogs('debug');

let fixture: PipelineFixture;

beforeAll(async () => {
  fixture = await startPipeline({
    topology: { retryDelaysMs: [100, 200] },
    ingestLogger: ingestLogs.logger,
    consumerLogger: consumerLogs.logger,
    consumerEnv: { OPS_TOKEN: TOKEN },
    prepareDatabase: (db) => failInserts(db, { eventIdLike: 'flaky-%', sqlstate: '40001' }),
  });
  ({ database, topology, ingest, consumer, admin } = fixture);
});

afterAll(() => fixture?.close());

/** `null` sends no Authorization header at all. */
const get = (url: string, token: string | null = TOKEN) =>
  consumer.app.inject({
    url,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });

const rowCount = async () =>
  (await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_events')).rows[0]
    ?.n;

async function sendAll(bodies: Array<Record<string, unknown>>) {
  const responses = await Promise.all(bodies.map((b) => ingest.post(b)));
  expect(responses.every((r) => r.statusCode === 200)).toBe(true);
}

describe('events API', () => {
  beforeAll(async () => {
    const bodies = [];
    for (let i = 0; i < 120; i++) {
      bodies.push({
        source: ['github', 'stripe', 'shop'][i % 3],
        type: i % 2 === 0 ? 'created' : 'updated',
        id: `e-${i}`,
        data: { i },
      });
    }
    await sendAll(bodies);
    await waitFor('120 rows', async () => (await rowCount()) === 120);
  });

  it('requires the bearer token when OPS_TOKEN is set; health and metrics stay open', async () => {
    expect((await get('/events', null)).statusCode).toBe(401);
    const wrong = await get('/events', 'not-the-token');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({ error: 'unauthorized' });
    expect((await get('/stats', null)).statusCode).toBe(401);
    expect((await get('/events')).statusCode).toBe(200);
    expect((await get('/healthz', null)).statusCode).toBe(200);
    expect((await get('/metrics', null)).statusCode).toBe(200);
  });

  it('pages newest first with an opaque cursor: no duplicates, no gaps, even while new rows arrive', async () => {
    const seen: string[] = [];
    const createdAt: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const res = await get(`/events?source=github&limit=7${query}`);
      expect(res.statusCode).toBe(200);
      const page = res.json();
      seen.push(...page.items.map((e: { eventId: string }) => e.eventId));
      createdAt.push(...page.items.map((e: { createdAt: string }) => e.createdAt));
      cursor = page.nextCursor;
      pages += 1;
      if (pages === 2) {
        // Newer rows must not push older ones onto a later page again.
        await sendAll([{ source: 'github', type: 'created', id: 'late-1' }]);
        await waitFor('the late row', async () => (await rowCount()) === 121);
      }
    } while (cursor !== null);

    expect(pages).toBe(6); // 40 rows of github, 7 a page
    expect(seen).toHaveLength(40);
    expect(new Set(seen).size).toBe(40);
    expect(seen).not.toContain('late-1');
    expect([...createdAt].sort().reverse()).toEqual(createdAt);
  });

  it('filters by source, type and time window', async () => {
    const res = await get('/events?source=stripe&type=updated&limit=500');
    const items = res.json().items as Array<{ source: string; type: string; data: { i: number } }>;
    expect(items.length).toBe(20);
    expect(items.every((e) => e.source === 'stripe' && e.type === 'updated')).toBe(true);

    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await get(`/events?from=${future}`)).json()).toEqual({ items: [], nextCursor: null });
    const past = new Date(Date.now() - 60_000).toISOString();
    expect((await get(`/events?to=${past}`)).json().items).toEqual([]);
    expect((await get(`/events?from=${past}&limit=500`)).json().items.length).toBe(121);
  });

  it('GET /events/:id returns the stored row, 404 when absent, 400 for a non-uuid', async () => {
    const [first] = (await get('/events?source=shop&limit=1')).json().items;
    const one = await get(`/events/${first.id}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(first);
    expect(one.json()).toMatchObject({ source: 'shop', eventId: expect.stringMatching(/^e-/) });

    const missing = await get('/events/00000000-0000-4000-8000-000000000000');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'not_found' });
    const bad = await get('/events/not-a-uuid');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues[0].path).toBe('id');
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=ten', 'limit'],
    ['from=yesterday', 'from'],
    ['to=2026-01-01', 'to'],
    ['colour=blue', 'colour'],
    ['cursor=garbage', 'cursor'],
  ])('400 naming the parameter for ?%s', async (query, parameter) => {
    const res = await get(`/events?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_query' });
    expect(res.json().issues.map((i: { path: string }) => i.path)).toContain(parameter);
  });

  it('GET /stats counts stored events by source and type over a window', async () => {
    const res = await get('/stats');
    expect(res.statusCode).toBe(200);
    const stats = res.json();
    expect(stats.total).toBe(121);
    expect(stats.counts).toContainEqual({ source: 'github', type: 'created', count: 21 });
    expect(stats.counts).toContainEqual({ source: 'stripe', type: 'updated', count: 20 });
    const empty = await get(
      `/stats?from=${new Date(Date.now() + 60_000).toISOString()}&to=${new Date(Date.now() + 120_000).toISOString()}`,
    );
    expect(empty.json()).toMatchObject({ total: 0, counts: [] });
    expect((await get('/stats?from=soon')).statusCode).toBe(400);
  });
});

describe('consumer metrics and log correlation', () => {
  it('metrics move as events are stored, retried and dead-lettered', async () => {
    const scrape = async () => (await get('/metrics', null)).body;
    const before = await scrape();
    const base = (await rowCount()) ?? 0;

    await sendAll([
      { source: 'metrics', type: 't', id: 'm-1' },
      { source: 'metrics', type: 't', id: 'm-2' },
      { source: 'metrics', type: 't', id: 'flaky-m' },
    ]);
    await admin.publishRaw(topology.queue, Buffer.from('not json'));
    await waitFor(
      'two dead letters',
      async () => (await admin.count(topology.deadLetterQueue)) === 2,
    );
    expect(await rowCount()).toBe(base + 2);

    // The copy is in the DLQ before the original is settled (recorded, acked, counted).
    let after = '';
    const delta = (name: string, labels: Record<string, string> = {}) =>
      metricValue(after, name, labels) - metricValue(before, name, labels);
    await waitFor('both dead letters settled', async () => {
      after = await scrape();
      return (
        delta('messages_dead_lettered_total', { reason: 'invalid_message' }) +
          delta('messages_dead_lettered_total', { reason: 'retries_exhausted' }) ===
        2
      );
    });
    expect(delta('messages_consumed_total')).toBe(6); // 3 + 2 retries of flaky-m + the garbage
    expect(delta('messages_acked_total')).toBe(2);
    expect(delta('messages_retried_total')).toBe(2);
    expect(delta('messages_dead_lettered_total', { reason: 'retries_exhausted' })).toBe(1);
    expect(delta('messages_dead_lettered_total', { reason: 'invalid_message' })).toBe(1);
    expect(delta('event_lag_seconds_count')).toBe(2);
    expect(delta('insert_batch_size_count')).toBeGreaterThanOrEqual(1);
    expect(delta('insert_duration_seconds_count', { outcome: 'error' })).toBeGreaterThanOrEqual(3);
    expect(metricValue(after, 'circuit_open')).toBe(0);
    expect(metricValue(after, 'queue_depth', { queue: topology.deadLetterQueue })).toBe(2);
    expect(metricValue(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it("one request id appears in the ingest API's and the consumer's log lines for that event", async () => {
    const requestId = 'corr-7f3a-test';
    const res = await ingest.app.inject({
      method: 'POST',
      url: '/webhook',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      payload: { source: 'logs', type: 't', id: 'log-1' },
    });
    expect(res.statusCode).toBe(200);
    await waitFor('the consumer to store it', () =>
      consumerLogs.lines.some((l) => l.requestId === requestId && l.msg === 'event stored'),
    );
    const ingestLine = ingestLogs.lines.find((l) => l.requestId === requestId);
    expect(ingestLine).toMatchObject({ msg: 'request completed', status: 200 });
    const consumerLine = consumerLogs.lines.find((l) => l.requestId === requestId);
    expect(consumerLine).toMatchObject({ eventId: 'log-1' });
    // Stored with the event: the events API traces it back to its request.
    const [stored] = (await get('/events?eventId=log-1')).json().items;
    expect(stored).toMatchObject({ eventId: 'log-1', requestId });
    expect((await get(`/events/${stored.id}`)).json().requestId).toBe(requestId);
  });
});
