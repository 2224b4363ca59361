import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { Database, DeliveriesRepository, type EventRow, EventsRepository } from '../src/index.js';

// Claiming and recording must cost the same however many deliveries wait for other
// subscriptions: a dead destination's backlog grows for as long as it is down, and every
// other subscription is claimed and recorded beside it.
const BACKLOG = 5000;
/** What the live subscription has due at a time. */
const BATCH = 5;
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

async function storeEvents(type: string, count: number): Promise<void> {
  const events = new EventsRepository(db);
  for (let first = 0; first < count; first += 500) {
    await events.insertBatch(rows(type, count).slice(first, first + 500));
  }
}

async function subscribe(name: string, type: string, state: 'active' | 'paused') {
  const result = await db.query<{ id: string }>(
    `INSERT INTO subscriptions (name, url, types, secret, retry_delays_ms, timeout_ms,
       max_in_flight, state)
     VALUES ($1, 'http://127.0.0.1:1/hook', $2, 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0',
       '{5000}', 10000, 100, $3)
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

/**
 * Entries read so far from the index of pending deliveries, as this connection has flushed
 * them: walking another subscription's backlog shows there.
 */
async function pendingEntriesRead(): Promise<number> {
  // Pending statistics are flushed when the backend next goes idle, before the next query.
  await db.query('SELECT pg_stat_force_next_flush()');
  const result = await db.query<{ read: string }>(
    `SELECT idx_tup_read AS read FROM pg_stat_user_indexes
     WHERE indexrelname = 'deliveries_pending_idx'`,
  );
  return Number(result.rows[0]?.read ?? 0);
}

describe("claiming and recording read only their own deliveries, not another subscription's backlog", () => {
  const events = () => new EventsRepository(db);
  const deliveries = () => new DeliveriesRepository(db);
  let live: string;

  beforeAll(async () => {
    await subscribe('down', 'backlog', 'paused');
    await subscribe('history', 'history', 'paused');
    live = await subscribe('live', 'live', 'active');
    // The statistics are taken while nearly every delivery is delivered, as in normal running;
    // then the destination goes down and its backlog builds up.
    await storeEvents('history', BACKLOG);
    await db.query(`UPDATE deliveries SET status = 'delivered'`);
    await db.query('ANALYZE deliveries');
    await storeEvents('backlog', BACKLOG);
  });

  /** `BATCH` new deliveries for the live subscription, claimed then recorded; entries read by each. */
  async function claimAndRecord(batch: string) {
    await events().insertBatch(
      rows('live', BATCH).map((r) => ({ ...r, eventId: `${batch}-${r.eventId}` })),
    );
    const beforeClaim = await pendingEntriesRead();
    const claimed = await deliveries().claimDue({ limit: BATCH, leaseMarginMs: 30_000 });
    const claimRead = (await pendingEntriesRead()) - beforeClaim;
    expect(claimed.map((d) => d.subscriptionId)).toEqual(Array(BATCH).fill(live));
    await deliveries().recordAttempts(
      claimed.map((d) => ({
        deliveryId: d.id,
        attemptedAt: new Date(),
        durationMs: 1,
        httpStatus: 204,
        responseBody: '',
        status: 'delivered' as const,
      })),
    );
    const recordRead = (await pendingEntriesRead()) - beforeClaim - claimRead;
    const delivered = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1 AND status = 'delivered'`,
      [live],
    );
    return { claimRead, recordRead, delivered: delivered.rows[0]?.n };
  }

  it('while the statistics predate the backlog', async () => {
    const read = await claimAndRecord('stale');
    expect(read.delivered).toBe(BATCH);
    expect(read.claimRead).toBeLessThan(BACKLOG / 10);
    expect(read.recordRead).toBeLessThan(BACKLOG / 10);
  });

  it('once they count it', async () => {
    await db.query('ANALYZE deliveries');
    const read = await claimAndRecord('analyzed');
    expect(read.delivered).toBe(2 * BATCH);
    expect(read.claimRead).toBeLessThan(BACKLOG / 10);
    expect(read.recordRead).toBeLessThan(BACKLOG / 10);
  });
});

describe("an ordered key's waiting backlog is not read by the claim nor by passing the key on", () => {
  it('reads the head, then the next one, not the deliveries behind them', async () => {
    const deliveries = new DeliveriesRepository(db);
    const subscription = await subscribe('ordered', 'ordered', 'active');
    // One key for every event of it: all but the first wait their turn.
    await db.query(`UPDATE subscriptions SET ordering_key = '/type' WHERE id = $1`, [subscription]);
    await storeEvents('ordered', BACKLOG);
    await db.query('ANALYZE deliveries');

    const orderEntriesRead = async () => {
      await db.query('SELECT pg_stat_force_next_flush()');
      const result = await db.query<{ read: string }>(
        `SELECT idx_tup_read AS read FROM pg_stat_user_indexes
         WHERE indexrelname = 'deliveries_order_idx'`,
      );
      return Number(result.rows[0]?.read ?? 0);
    };
    const before = { pending: await pendingEntriesRead(), order: await orderEntriesRead() };
    for (const expected of ['ordered-0', 'ordered-1', 'ordered-2']) {
      const [head, ...more] = await deliveries.claimDue({ limit: 10, leaseMarginMs: 30_000 });
      expect(more).toEqual([]);
      expect(JSON.parse(head?.body ?? '{}').id).toBe(expected);
      await deliveries.recordAttempts([
        {
          deliveryId: head?.id as string,
          attemptedAt: new Date(),
          durationMs: 1,
          httpStatus: 204,
          status: 'delivered',
        },
      ]);
    }
    expect((await pendingEntriesRead()) - before.pending).toBeLessThan(BACKLOG / 10);
    expect((await orderEntriesRead()) - before.order).toBeLessThan(BACKLOG / 10);
    // Its next head is due: out of the way of the tests that follow.
    await db.query(`UPDATE subscriptions SET state = 'paused' WHERE id = $1`, [subscription]);
  });
});

describe('a sender that lost the answer to its cycle (the connection cut after the commit)', () => {
  it('finds what the cycle leased by its token, and recording its outcomes again logs each attempt once', async () => {
    const events = new EventsRepository(db);
    const deliveries = new DeliveriesRepository(db);
    const subscription = await subscribe('lost-answer', 'lost', 'active');
    await events.insertBatch(rows('lost', 3));

    const token = '00000000-0000-4000-8000-000000000001';
    const leases = await deliveries.recordAndLease([], {
      limit: 10,
      leaseMarginMs: 30_000,
      leaseToken: token,
    });
    expect(leases).toHaveLength(3);
    // As if that answer never came: the leases are found by the token, with what to send.
    const found = await deliveries.leasedBy([token, '00000000-0000-4000-8000-000000000002']);
    expect(found.map((d) => d.id).sort()).toEqual(leases.map((l) => l.id).sort());
    expect(found.every((d) => d.subscriptionId === subscription && d.attempt === 1)).toBe(true);
    expect(JSON.parse(found[0]?.body ?? '{}').type).toBe('lost');

    const outcome = {
      deliveryId: leases[0]?.id as string,
      attemptedAt: new Date('2026-05-06T07:08:09.123Z'),
      durationMs: 12,
      httpStatus: 500,
      status: 'pending' as const,
      nextAttemptAt: new Date(Date.now() + 60_000),
    };
    await deliveries.recordAttempts([outcome]);
    await deliveries.recordAttempts([outcome]);
    const logged = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM delivery_attempts WHERE delivery_id = $1',
      [outcome.deliveryId],
    );
    expect(logged.rows[0]?.n).toBe(1);
    // Recorded: no longer leased, so no longer found by the token.
    const still = await deliveries.leasedBy([token]);
    expect(still.map((d) => d.id)).not.toContain(outcome.deliveryId);
  });
});

describe('a replay', () => {
  it('sends a delivery waiting for its next retry again at once, from the start of its schedule; one in flight is left to its outcome', async () => {
    const events = new EventsRepository(db);
    const deliveries = new DeliveriesRepository(db);
    const subscription = await subscribe('replayed', 'replayed', 'active');
    await events.insertBatch(rows('replayed', 2));
    const [waiting, inFlight] = await deliveries.recordAndLease([], {
      limit: 10,
      leaseMarginMs: 30_000,
    });
    expect(inFlight).toBeDefined();
    await deliveries.recordAttempts([
      {
        deliveryId: waiting?.id as string,
        attemptedAt: new Date(),
        durationMs: 5,
        httpStatus: 503,
        status: 'pending',
        nextAttemptAt: new Date(Date.now() + 3_600_000),
      },
    ]);

    const replayed = await deliveries.replay(
      { filter: { subscriptionId: subscription, status: 'pending' } },
      { dryRun: false },
    );
    expect(replayed).toEqual({ matched: 2, queued: 1 });
    const after = await db.query<{ id: string; attempts: number; due: boolean }>(
      `SELECT id, attempts, next_attempt_at <= now() AS due FROM deliveries WHERE id = $1`,
      [waiting?.id],
    );
    expect(after.rows[0]).toMatchObject({ attempts: 0, due: true });
  });
});
