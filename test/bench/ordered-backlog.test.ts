import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CUSTOMER_ID_POINTER, storeEvents } from '../../bench/lib/event-rows.js';
import { benchSecret, subscribe } from '../../bench/lib/subscriptions.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

// The delivery phase's ordered drain compares itself with the unordered one: its backlog must
// be the same events, ordered per customer, the customers interleaved, each one's first event
// due and the rest waiting their turn.
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
});

afterAll(async () => {
  await database?.drop();
});

describe('bench: the ordered drain backlog', () => {
  it('stores events of interleaved customers for a subscription ordered per customer', async () => {
    const [id] = await subscribe(database.db, [
      {
        name: 'ordered',
        url: 'http://127.0.0.1:9/ordered',
        types: ['delivery-drain-1-ordered'],
        secret: benchSecret(),
        maxInFlight: 100,
        state: 'paused',
        orderingKey: CUSTOMER_ID_POINTER,
      },
    ]);
    await storeEvents(database.db, 'delivery-drain-1-ordered', 2500, { customers: 1000 });

    const result = await database.db.query<{
      deliveries: number;
      keys: number;
      due: number;
      lastSeq: string;
      firstKeyOrder: string[];
    }>(
      `SELECT count(*)::int AS deliveries, count(DISTINCT order_key)::int AS keys,
         count(*) FILTER (WHERE next_attempt_at <> 'infinity')::int AS due,
         max(order_seq) AS "lastSeq",
         (SELECT array_agg(w.event_id ORDER BY d2.order_seq) FROM deliveries d2
           JOIN webhook_events w ON w.id = d2.event_row_id
           WHERE d2.order_key = 'cus_7') AS "firstKeyOrder"
       FROM deliveries WHERE subscription_id = $1`,
      [id],
    );
    expect(result.rows[0]).toEqual({
      deliveries: 2500,
      keys: 1000,
      due: 1000,
      lastSeq: '3',
      firstKeyOrder: [
        'delivery-drain-1-ordered-7',
        'delivery-drain-1-ordered-1007',
        'delivery-drain-1-ordered-2007',
      ],
    });
  });
});
