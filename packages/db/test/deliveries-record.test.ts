import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { Database, DeliveriesRepository, type EventRow, EventsRepository } from '../src/index.js';

// Recording an attempt must cost the same however many deliveries wait for other
// subscriptions: a dead destination's backlog grows for as long as it is down, and every
// other subscription's outcomes are recorded beside it.
const BACKLOG = 3000;
let database: TestDatabase;
/** One connection, so the statistics it flushes are those of the statement just run. */
let db: Database;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  db = new Database({
    connectionString: database.url,
    logger: testLogger(),
    maxConnections: 1,
    statementTimeoutMs: 30_000,
    applicationName: 'deliveries-record-test',
  });
});

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

async function subscribe(name: string, type: string, state: 'active' | 'paused') {
  const result = await db.query<{ id: string }>(
    `INSERT INTO subscriptions (name, url, types, secret, retry_delays_ms, timeout_ms,
       max_in_flight, state)
     VALUES ($1, 'http://127.0.0.1:1/hook', $2, 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0',
       '{5000}', 10000, 10, $3)
     RETURNING id`,
    [name, [type], state],
  );
  return result.rows[0]?.id as string;
}

const rows = (type: string, count: number): EventRow[] =>
  Array.from({ length: count }, (_, i) => ({
    eventId: `${type}-${i}`,
    source: 'record-test',
    type,
    data: { i },
    timestamp: '2026-05-06T07:08:09.123456Z',
  }));

/** Entries read from the index of pending deliveries so far, as this connection has flushed them. */
async function pendingIndexEntriesRead(): Promise<number> {
  // Pending statistics are flushed when the backend next goes idle, before the next query.
  await db.query('SELECT pg_stat_force_next_flush()');
  const result = await db.query<{ read: string }>(
    `SELECT idx_tup_read AS read FROM pg_stat_user_indexes
     WHERE indexrelname = 'deliveries_pending_idx'`,
  );
  return Number(result.rows[0]?.read ?? 0);
}

describe('recording attempts', () => {
  it("reads only its own deliveries, not another subscription's backlog", async () => {
    const events = new EventsRepository(db);
    const deliveries = new DeliveriesRepository(db);
    await subscribe('down', 'backlog', 'paused');
    const live = await subscribe('live', 'live', 'active');
    for (let first = 0; first < BACKLOG; first += 500) {
      await events.insertBatch(rows('backlog', BACKLOG).slice(first, first + 500));
    }
    await events.insertBatch(rows('live', 5));
    const claimed = await deliveries.claimDue({ limit: 10, leaseMarginMs: 30_000 });
    expect(claimed.map((d) => d.subscriptionId)).toEqual(Array(5).fill(live));

    const before = await pendingIndexEntriesRead();
    await deliveries.recordAttempts(
      claimed.map((d) => ({
        deliveryId: d.id,
        attemptedAt: new Date(),
        durationMs: 1,
        httpStatus: 204,
        responseBody: '',
        status: 'delivered' as const,
      })),
    );
    const read = (await pendingIndexEntriesRead()) - before;

    const recorded = await db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM deliveries WHERE subscription_id = $1 GROUP BY status`,
      [live],
    );
    expect(recorded.rows).toEqual([{ status: 'delivered', n: 5 }]);
    // The five deliveries are found by primary key; reading the pending index would walk the
    // whole backlog.
    expect(read).toBeLessThan(BACKLOG / 10);
  });
});
