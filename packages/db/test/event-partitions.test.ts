import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { type EventRow, EventsRepository, uuidV7Ms } from '../src/index.js';

// Events live in daily partitions of created_at; (source, event_id) stays unique through
// webhook_event_keys whichever day an event was stored on.
const DAY_MS = 86_400_000;
let database: TestDatabase;
let events: EventsRepository;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  events = new EventsRepository(database.db);
});

afterAll(async () => {
  await database?.drop();
});

const row = (eventId: string, requestId?: string): EventRow => ({
  eventId,
  source: 'partitions',
  type: 'thing.happened',
  data: { eventId },
  timestamp: '2026-01-01T00:00:00Z',
  requestId,
});

/** A repository that stores at the time `clock` holds. */
function storingAt(clock: { at: Date }): EventsRepository {
  return new EventsRepository(database.db, { storedAt: () => clock.at });
}

/** UTC midnight `days` days from today. */
function midnight(days: number): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + days));
}

async function partitionOf(eventId: string): Promise<string | undefined> {
  const result = await database.db.query<{ p: string }>(
    `SELECT tableoid::regclass::text AS p FROM webhook_events
     WHERE source = 'partitions' AND event_id = $1`,
    [eventId],
  );
  return result.rows[0]?.p;
}

describe('events in daily partitions', () => {
  it('the migration leaves today and the next three days with a partition each', async () => {
    const partitions = await events.partitions();
    for (let day = 0; day <= 3; day++) {
      const start = midnight(day);
      const end = midnight(day + 1);
      expect(
        partitions.some((p) => p.from !== null && p.to !== null && p.from <= start && p.to >= end),
        `day +${day} has a partition`,
      ).toBe(true);
    }
  });

  it('across midnight UTC, with no partition made ahead: each side is stored in its own day, made on demand', async () => {
    // Ten days ahead: no partition exists there yet.
    const clock = { at: new Date(midnight(10).getTime() - 1) };
    const repository = storingAt(clock);
    const before = await repository.insertBatch([row('before-midnight')]);
    clock.at = midnight(10);
    const after = await repository.insertBatch([row('after-midnight'), row('before-midnight')]);

    expect(before.inserted).toBe(1);
    expect(after.stored.map((key) => key.eventId)).toEqual(['after-midnight']);
    const day = (at: Date) => at.toISOString().slice(0, 10).replaceAll('-', '');
    expect(await partitionOf('before-midnight')).toBe(
      `webhook_events_p${day(new Date(midnight(10).getTime() - 1))}`,
    );
    expect(await partitionOf('after-midnight')).toBe(`webhook_events_p${day(midnight(10))}`);

    // The ids are UUID v7 of the time they were stored at, and find their rows.
    const [stored] = before.stored;
    expect(stored && uuidV7Ms(stored.id)).toBe(midnight(10).getTime() - 1);
    const lastMs = new Date(midnight(10).getTime() - 1).toISOString();
    expect((await events.findById(stored?.id ?? ''))?.createdAt).toBe(lastMs.replace('Z', '000Z'));
  });

  it('a redelivery of an event stored three partitions ago inserts nothing', async () => {
    const clock = { at: new Date(Date.now() - 3 * DAY_MS) };
    const threeDaysAgo = await storingAt(clock).insertBatch([row('three-days')]);
    expect(threeDaysAgo.inserted).toBe(1);
    const partition = await partitionOf('three-days');

    const today = await events.insertBatch([row('three-days'), row('today')]);
    expect(today.stored.map((key) => key.eventId)).toEqual(['today']);
    expect(await partitionOf('today')).not.toBe(partition);
    const copies = await database.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM webhook_events WHERE event_id = 'three-days'`,
    );
    expect(copies.rows[0]?.n).toBe(1);
    expect(await events.findStored([{ source: 'partitions', eventId: 'three-days' }])).toEqual([
      expect.objectContaining({ id: threeDaysAgo.stored[0]?.id, eventId: 'three-days' }),
    ]);
  });

  it('keeps the request id of the request that brought the event', async () => {
    const { stored } = await events.insertBatch([row('traced', 'req-1234'), row('untraced')]);
    const [traced, untraced] = stored;
    expect((await events.findById(traced?.id ?? ''))?.requestId).toBe('req-1234');
    expect((await events.findById(untraced?.id ?? ''))?.requestId).toBeNull();
    const page = await events.findEvents({ source: 'partitions', eventId: 'traced', limit: 5 });
    expect(page.items.map((item) => item.requestId)).toEqual(['req-1234']);
  });

  it('finds by id reading one partition, and finds ids that are not v7 (stored before partitions) in any', async () => {
    const { stored } = await events.insertBatch([row('by-id')]);
    const id = stored[0]?.id ?? '';
    const ms = uuidV7Ms(id) ?? 0;
    const plan = await database.db.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (FORMAT JSON) SELECT * FROM webhook_events
       WHERE id = '${id}' AND created_at >= '${new Date(ms).toISOString()}'
         AND created_at < '${new Date(ms + 1).toISOString()}'`,
    );
    const text = JSON.stringify(plan.rows[0]?.['QUERY PLAN']);
    expect(text.match(/"Relation Name":"webhook_events_p\d+/g)).toHaveLength(1);

    const old = await database.db.query<{ id: string }>(
      `INSERT INTO webhook_events (id, event_id, source, type, data, "timestamp")
       VALUES (gen_random_uuid(), 'v4', 'partitions', 't', '{}', now()) RETURNING id`,
    );
    const v4 = old.rows[0]?.id ?? '';
    expect(uuidV7Ms(v4)).toBeUndefined();
    expect((await events.findById(v4))?.eventId).toBe('v4');
    expect(await events.findDataText(v4)).toBe('{}');
  });

  it('makes the partitions of days ahead once, however often asked', async () => {
    const from = midnight(30);
    expect(await events.createPartitions(from, 3)).toBe(3);
    expect(await events.createPartitions(from, 4)).toBe(1);
    expect(await events.createPartitions(from, 4)).toBe(0);
  });

  it('vacuums each partition whose day has ended once, and never a day still going', async () => {
    const clock = { at: new Date(Date.now() - 5 * DAY_MS) };
    await storingAt(clock).insertBatch([row('five-days')]);
    const partition = await partitionOf('five-days');
    const first = await events.vacuumClosedPartitions();
    expect(first).toContain(partition);
    expect(first).not.toContain(await partitionOf('today'));
    expect(await events.vacuumClosedPartitions()).toEqual([]);
  });
});
