import { Validator } from '@seriousme/openapi-schema-validator';
import type { QueueAdmin, Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestHarness } from '../../../test/helpers/pipeline.js';
import {
  failInserts,
  type PipelineFixture,
  startPipeline,
} from '../../../test/helpers/pipeline-fixture.js';
import type { TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerService } from '../src/consumer-service.js';

const TOKEN = 'dead-letters-token-0123456789';
let fixture: PipelineFixture;
let database: TestDatabase;
let topology: Topology;
let ingest: IngestHarness;
let consumer: ConsumerService;
let admin: QueueAdmin;
let refused: { stop(): Promise<void> };

beforeAll(async () => {
  fixture = await startPipeline({
    // Quorum, as in production: there, taking a message and giving it back is counted.
    topology: { queueType: 'quorum' },
    consumerEnv: { OPS_TOKEN: TOKEN },
    prepareDatabase: async (db) => {
      refused = await failInserts(db, { eventIdLike: 'refused-%', sqlstate: '22023' });
    },
  });
  ({ database, topology, ingest, consumer, admin } = fixture);
});

afterAll(() => fixture?.close());

const call = (method: 'GET' | 'POST', url: string, payload?: unknown, token = TOKEN) =>
  consumer.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}` },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });

interface Letter {
  id: string;
  eventId: string | null;
  source: string | null;
  type: string | null;
  reason: string;
  lastError: string;
  attempts: number;
  status: string;
  requestId: string | null;
  deadLetterCount: number;
  replayCount: number;
  replayedAt: string | null;
}

async function letters(query = ''): Promise<Letter[]> {
  const res = await call('GET', `/dead-letters?limit=500${query}`);
  expect(res.statusCode).toBe(200);
  return res.json().items;
}

const storedCount = async (eventIdLike: string) =>
  (
    await database.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM webhook_events WHERE event_id LIKE $1',
      [eventIdLike],
    )
  ).rows[0]?.n;

describe('dead letters in PostgreSQL and the ops API', () => {
  const sent = [
    { source: 'shop', type: 'order.paid', id: 'refused-1', data: { n: 1 } },
    { source: 'shop', type: 'order.paid', id: 'refused-2', data: { n: 2 } },
    { source: 'crm', type: 'contact.new', id: 'refused-3', data: { n: 3 } },
    { source: 'crm', type: 'contact.new', id: 'fine-1', data: { n: 4, tags: ['vip'] } },
  ];

  beforeAll(async () => {
    for (const body of sent) expect((await ingest.post(body)).statusCode).toBe(200);
    // Not JSON at all: dead-lettered as invalid, identified by its bytes.
    await admin.publishRaw(topology.queue, Buffer.from('not json {'), { messageId: 'raw-1' });
    await waitFor('four dead letters recorded', async () => (await letters()).length === 4);
    await waitFor('the fine event stored', async () => (await storedCount('fine-%')) === 1);
  });

  it('records each dead letter with its reason, error, attempts, times, body and request id', async () => {
    const all = await letters();
    const refusedOne = all.find((l) => l.eventId === 'refused-1');
    expect(refusedOne).toMatchObject({
      source: 'shop',
      type: 'order.paid',
      reason: 'rejected_by_database',
      attempts: 1,
      status: 'dead',
      deadLetterCount: 1,
      replayCount: 0,
      replayedAt: null,
    });
    expect(refusedOne?.lastError).toContain('simulated failure');
    expect(refusedOne?.requestId).toMatch(/\S/);

    const raw = all.find((l) => l.reason === 'invalid_message');
    expect(raw).toMatchObject({ eventId: 'raw-1', source: null, type: null, status: 'dead' });

    const detail = await call('GET', `/dead-letters/${refusedOne?.id}`);
    expect(detail.statusCode).toBe(200);
    const body = JSON.parse(detail.json().body);
    expect(body).toMatchObject({ id: 'refused-1', source: 'shop', data: { n: 1 } });
    expect(detail.json().firstFailedAt <= detail.json().deadLetteredAt).toBe(true);
    expect((await call('GET', `/dead-letters/${raw?.id}`)).json().body).toBe('not json {');
  });

  it('filters by source, type, reason, event id and time, pages with a cursor', async () => {
    expect((await letters('&source=shop')).map((l) => l.eventId).sort()).toEqual([
      'refused-1',
      'refused-2',
    ]);
    expect((await letters('&type=contact.new')).map((l) => l.eventId)).toEqual(['refused-3']);
    expect((await letters('&reason=invalid_message')).map((l) => l.eventId)).toEqual(['raw-1']);
    expect((await letters('&eventId=refused-2')).length).toBe(1);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(await letters(`&from=${future}`)).toEqual([]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call(
        'GET',
        `/dead-letters?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      seen.push(...res.json().items.map((l: Letter) => l.id));
      cursor = res.json().nextCursor;
    } while (cursor !== null);
    expect(seen.length).toBe(4);
    expect(new Set(seen).size).toBe(4);
  });

  it('refuses bad requests with a JSON error, and requires the token', async () => {
    expect((await call('GET', '/dead-letters', undefined, 'wrong-token-0000000')).statusCode).toBe(
      401,
    );
    expect((await call('GET', '/dead-letters?reason=bored')).statusCode).toBe(400);
    expect((await call('GET', '/dead-letters?cursor=nope')).json().error).toBe('invalid_query');
    const mixed = await call('POST', '/dead-letters/replay', {
      ids: ['0190a1b2-0000-7000-8000-000000000000'],
      source: 'shop',
    });
    expect(mixed.statusCode).toBe(400);
    expect(mixed.json().error).toBe('invalid_query');
    expect((await call('GET', '/dead-letters/not-a-uuid')).statusCode).toBe(400);
    expect(
      (await call('GET', '/dead-letters/0190a1b2-0000-7000-8000-000000000000')).statusCode,
    ).toBe(404);
  });

  it('a dry run counts from the table; neither it nor listing takes a message from the queue', async () => {
    const before = await admin.count(topology.deadLetterQueue);
    expect(before).toBe(4);
    const dry = await call('POST', '/dead-letters/replay', { source: 'shop', dryRun: true });
    expect(dry.json()).toEqual({ matched: 2, moved: 0 });
    expect((await call('POST', '/dead-letters/replay', { dryRun: true })).json()).toEqual({
      matched: 4,
      moved: 0,
    });
    await letters();
    expect(await admin.count(topology.deadLetterQueue)).toBe(4);
    // A quorum queue counts the times it handed a message out before; none was ever taken.
    const peeked = await admin.peek(topology.deadLetterQueue, 10);
    expect(peeked.length).toBe(4);
    for (const message of peeked) expect(Number(message.headers['x-delivery-count'] ?? 0)).toBe(0);
  });

  it('a replay that fails again updates the same record: one row, dead again, counted twice', async () => {
    const [one] = await letters('&eventId=refused-3');
    const res = await call('POST', '/dead-letters/replay', { ids: [one?.id] });
    expect(res.json()).toEqual({ matched: 1, moved: 1 });
    await waitFor('dead-lettered a second time', async () => {
      const [again] = await letters('&eventId=refused-3');
      return again?.deadLetterCount === 2 && again.status === 'dead';
    });
    const rows = await letters('&eventId=refused-3');
    expect(rows.length).toBe(1);
    expect(rows[0]).toMatchObject({ replayCount: 1, attempts: 1, status: 'dead' });
    expect(await admin.count(topology.deadLetterQueue)).toBe(4);
  });

  it('once the cause is fixed, replays by id and by filter end stored and show so', async () => {
    await refused.stop();
    const [first] = await letters('&eventId=refused-1');
    expect((await call('POST', '/dead-letters/replay', { ids: [first?.id] })).json()).toEqual({
      matched: 1,
      moved: 1,
    });
    await waitFor('refused-1 stored', async () => (await storedCount('refused-1')) === 1);
    const [stored] = await letters('&eventId=refused-1');
    expect(stored).toMatchObject({ status: 'stored', replayCount: 1 });
    expect(stored?.replayedAt).not.toBeNull();

    // Everything of source crm and shop still waiting: refused-2 and refused-3.
    expect((await call('POST', '/dead-letters/replay', { type: 'order.paid' })).json()).toEqual({
      matched: 1,
      moved: 1,
    });
    expect((await call('POST', '/dead-letters/replay', { source: 'crm' })).json()).toEqual({
      matched: 1,
      moved: 1,
    });
    await waitFor('all refused events stored', async () => (await storedCount('refused-%')) === 3);
    await waitFor('shown as stored', async () =>
      (await letters('&reason=rejected_by_database')).every((l) => l.status === 'stored'),
    );
    // Only the non-event is left in the queue; a stored one is not selected again.
    expect(await admin.count(topology.deadLetterQueue)).toBe(1);
    expect((await call('POST', '/dead-letters/replay', { source: 'shop' })).json()).toEqual({
      matched: 0,
      moved: 0,
    });
  });
});

describe('the events API and the overview', () => {
  it('filters events by JSON containment on data and by event id', async () => {
    const vip = await call('GET', `/events?contains=${encodeURIComponent('{"tags":["vip"]}')}`);
    expect(vip.statusCode).toBe(200);
    expect(vip.json().items.map((e: { eventId: string }) => e.eventId)).toEqual(['fine-1']);
    const byId = await call('GET', '/events?eventId=refused-2');
    expect(byId.json().items.map((e: { eventId: string }) => e.eventId)).toEqual(['refused-2']);
    for (const bad of ['[1]', '{nope', '"text"', 'null']) {
      const res = await call('GET', `/events?contains=${encodeURIComponent(bad)}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().issues[0].path).toBe('contains');
    }
  });

  it('serves the data of an event as the text PostgreSQL returns', async () => {
    const [event] = (await call('GET', '/events?eventId=fine-1')).json().items;
    const res = await call('GET', `/events/${event.id}/data`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/json');
    expect(res.body).toBe('{"n": 4, "tags": ["vip"]}');
  });

  it('sums up the last hour: stored and dead-lettered per source, queues, lag, circuit', async () => {
    const res = await call('GET', '/overview');
    expect(res.statusCode).toBe(200);
    const overview = res.json();
    expect(overview.sources).toEqual(
      expect.arrayContaining([
        { source: 'shop', stored: 2, deadLettered: 2 },
        { source: 'crm', stored: 2, deadLettered: 1 },
        { source: '(not an event)', stored: 0, deadLettered: 1 },
      ]),
    );
    expect(overview.deadLetteredByReason).toEqual([
      { reason: 'rejected_by_database', count: 3 },
      { reason: 'invalid_message', count: 1 },
    ]);
    expect(overview.queues).toEqual({ main: 0, retry: 0, deadLetter: 1 });
    expect(overview.oldestDeadLetter.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(overview.receiptToStoredSeconds.count).toBe(4);
    expect(overview.receiptToStoredSeconds.p99).toBeGreaterThanOrEqual(
      overview.receiptToStoredSeconds.p50,
    );
    expect(overview.databaseCircuit).toBe('closed');
  });

  it('describes itself in a valid OpenAPI document generated from its schemas', async () => {
    const res = await consumer.app.inject('/docs/json');
    expect(res.statusCode).toBe(200);
    const document = res.json();
    const validation = await new Validator().validate(document);
    expect(validation.errors ?? []).toEqual([]);
    const list = document.paths['/dead-letters'].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual([
      'source',
      'type',
      'reason',
      'eventId',
      'from',
      'to',
      'limit',
      'cursor',
    ]);
    const replay = document.paths['/dead-letters/replay'].post;
    expect(Object.keys(replay.requestBody.content['application/json'].schema.properties)).toContain(
      'ids',
    );
    expect(document.paths['/events'].get.parameters.map((p: { name: string }) => p.name)).toContain(
      'contains',
    );
  });
});
