import { EventsRepository } from '@webhooks/db';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { storeBatch } from '../src/pipeline/store-batch.js';

let database: TestDatabase;
let events: EventsRepository;
let statements = 0;
const insert: Parameters<typeof storeBatch>[1] = (rows) => {
  statements += 1;
  return events.insertBatch(rows);
};

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  events = new EventsRepository(database.db);
});
afterAll(() => database?.drop());

const row = (eventId: string, data: Record<string, unknown> = { n: eventId }) => ({
  eventId,
  source: 'store-test',
  type: 'thing.happened',
  data,
  timestamp: '2026-05-06T07:08:09.123Z',
});

describe('storeBatch on a real PostgreSQL', () => {
  it('stores a whole batch with one statement, and storing it again inserts nothing', async () => {
    statements = 0;
    const rows = Array.from({ length: 50 }, (_, i) => row(`batch-${i}`));
    const outcomes = await storeBatch(rows, insert);
    expect(outcomes.every((o) => o.kind === 'stored')).toBe(true);
    expect(statements).toBe(1);
    expect(await events.insertBatch(rows)).toEqual({
      inserted: 0,
      stored: [],
      deliveriesQueued: 0,
    });

    const stored = await database.db.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM webhook_events WHERE event_id LIKE 'batch-%'",
    );
    expect(stored.rows[0]?.n).toBe('50');
  });

  it('gives each row its key when it stores it, none when it was stored before', async () => {
    await storeBatch([row('keyed-old')], insert);
    const outcomes = await storeBatch(
      [row('keyed-new'), row('keyed-old'), row('keyed-new')],
      insert,
    );
    const [first, old, repeat] = outcomes;
    expect(first).toMatchObject({
      kind: 'stored',
      key: {
        eventId: 'keyed-new',
        source: 'store-test',
        type: 'thing.happened',
        timestamp: '2026-05-06T07:08:09.123000Z',
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      },
    });
    expect(old).toEqual({ kind: 'stored', key: undefined });
    // The same event twice in one batch: one row, named by both.
    expect(repeat).toEqual(first);
  });

  it('keeps the stored row faithful to the event', async () => {
    await storeBatch([row('faithful', { nested: { list: [1, 'two', null] }, ok: true })], insert);
    const stored = await database.db.query(
      'SELECT source, type, data, "timestamp" FROM webhook_events WHERE event_id = \'faithful\'',
    );
    expect(stored.rows[0]).toEqual({
      source: 'store-test',
      type: 'thing.happened',
      data: { nested: { list: [1, 'two', null] }, ok: true },
      timestamp: new Date('2026-05-06T07:08:09.123Z'),
    });
  });

  it('isolates a row the database rejects: its neighbours are stored, it alone fails permanently', async () => {
    statements = 0;
    // jsonb cannot hold U+0000, so PostgreSQL refuses this row as data (SQLSTATE 22P05).
    const rows = Array.from({ length: 16 }, (_, i) =>
      i === 11 ? row('split-bad', { text: 'nul\u0000here' }) : row(`split-${i}`),
    );
    const outcomes = await storeBatch(rows, insert);

    expect(outcomes.filter((o) => o.kind === 'stored')).toHaveLength(15);
    const failed = outcomes[11];
    expect(failed?.kind).toBe('failed');
    expect(failed?.kind === 'failed' && failed.error.kind).toBe('permanent');
    expect(failed?.kind === 'failed' && failed.error.code).toBe('22P05');
    // 1 failed batch + 2 halves + … down to the bad row: about 2·log2(16), not 16.
    expect(statements).toBeLessThanOrEqual(9);
    const stored = await database.db.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM webhook_events WHERE event_id LIKE 'split-%'",
    );
    expect(stored.rows[0]?.n).toBe('15');
  });
});

describe('storeBatch on failures that are not about one row', () => {
  it('a statement timeout fails the whole batch at once, without one slow statement per row', async () => {
    let calls = 0;
    const timingOut: Parameters<typeof storeBatch>[1] = async () => {
      calls += 1;
      throw Object.assign(new Error('canceling statement due to statement timeout'), {
        code: '57014',
      });
    };
    const rows = Array.from({ length: 64 }, (_, i) => row(`timeout-${i}`));
    const outcomes = await storeBatch(rows, timingOut);
    expect(calls).toBe(1);
    expect(outcomes).toHaveLength(64);
    expect(outcomes.every((o) => o.kind === 'failed' && o.error.kind === 'transient')).toBe(true);
  });
});
