import { parseExactJson, QueueMessage, StorableJsonObject } from '@webhooks/contracts';
import { EventsRepository, PermanentDatabaseError } from '@webhooks/db';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  hasProtoKey,
  hostileString,
  jsonObject,
  ordinaryString,
} from '../../../test/helpers/hostile-json.js';
import { jsonNumberText } from '../../../test/helpers/json-number.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';

// The contract the consumer parses messages with refuses exactly the data PostgreSQL would
// refuse, so an event the ingest API accepted (it applies the same contract) is never
// dead-lettered as `rejected_by_database` for its content.

let database: TestDatabase;
let events: EventsRepository;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  events = new EventsRepository(database.db);
  // Caught inside the server: a refused value costs no error round trip (and no server log).
  await database.db.query(`
    CREATE FUNCTION jsonb_accepts(text) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM $1::jsonb;
      RETURN true;
    EXCEPTION WHEN data_exception THEN
      RETURN false;
    END $$`);
});
afterAll(() => database?.drop());

/** Whether PostgreSQL's jsonb takes `data` as the consumer sends it (SQLSTATE class 22 if not). */
async function jsonbAccepts(data: unknown): Promise<boolean> {
  return jsonbAcceptsText(JSON.stringify(data));
}

async function jsonbAcceptsText(text: string): Promise<boolean> {
  const result = await database.db.query<{ accepted: boolean }>(
    'SELECT jsonb_accepts($1) AS accepted',
    [text],
  );
  return result.rows[0]?.accepted === true;
}

/** Numbers at numeric's bounds: 131072 digits before the point, 16383 after it. */
const numberNearBounds = fc
  .tuple(
    fc.constantFrom('0', '1', '10', '0.001', '1.5', '9.99', '0.0'),
    fc.oneof(
      fc.integer({ min: 131_066, max: 131_076 }),
      fc.integer({ min: -16_388, max: -16_378 }),
      fc.constantFrom(1_073_741_822, 1_073_741_823, -1_073_741_823),
    ),
  )
  .map(([mantissa, exponent]) => `${mantissa}e${exponent}`);

describe('the queue contract and PostgreSQL agree', () => {
  it('data passes the contract exactly when jsonb can hold it (property)', async () => {
    await fc.assert(
      fc.asyncProperty(jsonObject({ maxDepth: 4, string: hostileString() }), async (data) => {
        // jsonb would store a __proto__ key; the contract refuses it because a JavaScript
        // object cannot carry it faithfully (and the ingest API refuses it first).
        fc.pre(!hasProtoKey(data));
        const contract = StorableJsonObject.safeParse(data).success;
        expect(contract).toBe(await jsonbAccepts(data));
      }),
      { numRuns: 300 },
    );
  });

  it('a number passes the contract exactly when numeric can hold it (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(jsonNumberText(), numberNearBounds), async (number) => {
        const text = `{"n":[${number}]}`;
        const contract = StorableJsonObject.safeParse(parseExactJson(text)).success;
        expect(contract, number).toBe(await jsonbAcceptsText(text));
      }),
      { numRuns: 400 },
    );
  });

  it('a message the contract accepts is stored as sent (property)', async () => {
    const RUNS = 200;
    let run = 0;
    /** Runs that got past the contract and stored and checked a row. */
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          source: hostileString({ minLength: 1 }),
          type: hostileString({ minLength: 1 }),
          id: ordinaryString({ minLength: 1 }),
          data: jsonObject({ maxDepth: 4, string: hostileString() }),
        }),
        async (fields) => {
          run += 1;
          const parsed = QueueMessage.safeParse({
            ...fields,
            id: `${run}:${fields.id}`,
            timestamp: '2026-01-02T03:04:05.678Z',
            receivedAt: '2026-01-02T03:04:05.678Z',
          });
          // Most hostile messages are refused (about 5 in 6); fast-check generates more until
          // RUNS messages got past the contract, and fails if it cannot.
          fc.pre(parsed.success);
          if (!parsed.success) return;
          const event = parsed.data;
          await events.insertBatch([{ ...event, eventId: event.id }]);
          const stored = await database.db.query(
            'SELECT source, type, event_id, data FROM webhook_events WHERE source = $1 AND event_id = $2',
            [event.source, event.id],
          );
          // As JSON carries it: -0 is sent as 0.
          const data = JSON.parse(JSON.stringify(event.data));
          expect(stored.rows).toEqual([
            { source: event.source, type: event.type, event_id: event.id, data },
          ]);
          checked += 1;
        },
      ),
      { numRuns: RUNS },
    );
    expect(checked).toBeGreaterThanOrEqual(RUNS);
  });
});

describe('timestamps: the contract and timestamptz agree', () => {
  it.each([
    ['2026-03-04T05:06:07Z', true],
    ['2026-03-04T05:06:07.123456+15:59', true],
    ['0001-01-01T00:00:00Z', true],
    ['9999-12-31T23:59:59Z', true],
    ['2024-01-01T00:00:00+16:00', false],
    ['0000-01-01T00:00:00Z', false],
  ])('%s: accepted by both, or refused by both (%s)', async (timestamp, storable) => {
    const message = {
      id: `ts-${timestamp}`,
      source: 'timestamps',
      type: 't',
      data: {},
      timestamp,
      receivedAt: '2026-01-01T00:00:00Z',
    };
    expect(QueueMessage.safeParse(message).success).toBe(storable);
    const refusal = await events
      .insertBatch([{ eventId: message.id, source: 'timestamps', type: 't', data: {}, timestamp }])
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    if (storable) expect(refusal).toBeUndefined();
    else {
      // Refused as data (SQLSTATE class 22), not failed for another reason (a lost connection).
      expect(refusal).toBeInstanceOf(PermanentDatabaseError);
      expect((refusal as PermanentDatabaseError).code).toMatch(/^22/);
    }
  });
});
