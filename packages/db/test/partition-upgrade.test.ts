import { readdirSync } from 'node:fs';
import { runner } from 'node-pg-migrate';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { uniqueName } from '../../../test/helpers/test-names.js';
import { Database, type EventRow, EventsRepository, MIGRATIONS_DIR } from '../src/index.js';

// `pnpm migrate` moves an existing unpartitioned webhook_events, with its rows, to daily
// partitions while a consumer keeps storing; the down migration moves them back.
const OLD_EVENTS = 3000;
/** The last migration before the upgrade: where a database of the earlier layout stands. */
const BEFORE_UPGRADE = '1766000000000_create-subscriptions-and-deliveries';
/** The migrations after it, whatever comes later: `down` by this many goes back to it. */
const SINCE_UPGRADE = readdirSync(MIGRATIONS_DIR).filter(
  (file) => file.endsWith('.sql') && file > `${BEFORE_UPGRADE}.sql`,
).length;
const DAY_MS = 86_400_000;
let url: string;
let db: Database;

function migrate(direction: 'up' | 'down', count?: number) {
  return runner({
    databaseUrl: url,
    dir: MIGRATIONS_DIR,
    direction,
    ...(count === undefined ? {} : { count }),
    migrationsTable: 'pgmigrations',
    singleTransaction: true,
    checkOrder: true,
    log: () => {},
  });
}

beforeAll(async () => {
  const server = new URL(inject('databaseUrl'));
  const name = uniqueName('webhooks_upgrade');
  const admin = new Database({
    connectionString: server.toString(),
    logger: testLogger(),
    maxConnections: 1,
    statementTimeoutMs: 30_000,
    applicationName: 'partition-upgrade-test',
  });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.close();
  server.pathname = `/${name}`;
  url = server.toString();
  db = new Database({
    connectionString: url,
    logger: testLogger(),
    maxConnections: 4,
    statementTimeoutMs: 10_000,
    applicationName: 'partition-upgrade-test',
  });
});

afterAll(async () => {
  await db?.close();
  const admin = new URL(url);
  const name = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  const server = new Database({
    connectionString: admin.toString(),
    logger: testLogger(),
    maxConnections: 1,
    statementTimeoutMs: 30_000,
    applicationName: 'partition-upgrade-test',
  });
  await server.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await server.close();
});

const event = (eventId: string): EventRow => ({
  eventId,
  source: 'upgrade',
  type: 'thing.happened',
  data: { eventId },
  timestamp: '2026-01-01T00:00:00Z',
});

const count = async (sql: string) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`)).rows[0]?.n;

describe('upgrading an unpartitioned webhook_events in place', () => {
  it('keeps every row once, dedup and deliveries, while a consumer stores throughout; and goes back down', async () => {
    const before = await migrate('up', 4);
    expect(before.map((m) => m.name).at(-1)).toBe(BEFORE_UPGRADE);
    // Rows of the last five days, each with a delivery.
    await db.query(
      `INSERT INTO webhook_events (event_id, source, type, data, "timestamp", created_at)
       SELECT 'old-' || i, 'upgrade', 'thing.happened', jsonb_build_object('i', i), now(),
         now() - make_interval(secs => i * $2::float8 / $1)
       FROM generate_series(1, $1) AS i`,
      [OLD_EVENTS, (5 * DAY_MS) / 1000],
    );
    await db.query(
      `INSERT INTO subscriptions (name, url, secret, retry_delays_ms, timeout_ms, max_in_flight)
       VALUES ('all', 'http://127.0.0.1:1/', 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0', '{1000}', 1000, 1)`,
    );
    await db.query(
      `INSERT INTO deliveries (subscription_id, event_row_id, event_created_at)
       SELECT s.id, w.id, w.created_at FROM webhook_events w, subscriptions s`,
    );
    await db.query(
      `INSERT INTO rejected_requests (id, source, reason, received_at, headers, body)
       SELECT gen_random_uuid(), 'github', 'invalid_signature',
         now() - make_interval(hours => i), '{}', '\\x7b7d'
       FROM generate_series(1, 50) AS i`,
    );
    const oldIds = (
      await db.query<{ id: string; event_id: string }>(
        "SELECT id, event_id FROM webhook_events WHERE event_id IN ('old-1', 'old-2999')",
      )
    ).rows;

    // A consumer (the new code) storing batches, and redelivering old ids, the whole time.
    const events = new EventsRepository(db);
    let storing = true;
    let batches = 0;
    const redelivered: number[] = [];
    const writer = (async () => {
      while (storing) {
        const batch = await events.insertBatch([
          event(`live-${batches}-a`),
          event(`live-${batches}-b`),
          event(`old-${(batches % OLD_EVENTS) + 1}`),
        ]);
        redelivered.push(batch.stored.filter((key) => key.eventId.startsWith('old-')).length);
        batches += 1;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const beforeMigration = batches;
    const applied = await migrate('up');
    expect(applied.map((m) => m.name)).toContain('1767000000000_partition-webhook-events');
    const atMigration = batches;
    await new Promise((resolve) => setTimeout(resolve, 300));
    storing = false;
    await writer;

    // Stored before, during and after; no batch failed (the writer would have thrown).
    expect(beforeMigration).toBeGreaterThan(0);
    expect(batches).toBeGreaterThan(atMigration);
    expect(redelivered.every((n) => n === 0)).toBe(true);
    expect(await count('webhook_events')).toBe(OLD_EVENTS + 2 * batches);
    expect(await count('(SELECT DISTINCT source, event_id FROM webhook_events) d')).toBe(
      OLD_EVENTS + 2 * batches,
    );
    expect(await count('webhook_event_keys')).toBe(OLD_EVENTS + 2 * batches);
    expect(await count('deliveries')).toBe(OLD_EVENTS + 2 * batches);
    const partitioned = await db.query<{ relname: string; relkind: string }>(
      `SELECT relname, relkind FROM pg_class
       WHERE relname IN ('webhook_events', 'rejected_requests') ORDER BY relname`,
    );
    expect(partitioned.rows).toEqual([
      { relname: 'rejected_requests', relkind: 'p' },
      { relname: 'webhook_events', relkind: 'p' },
    ]);
    expect(await count('rejected_requests_before_partitions')).toBe(50);
    const oldRows = await db.query(
      `SELECT 1 FROM webhook_events_before_partitions WHERE event_id LIKE 'old-%'`,
    );
    expect(oldRows.rowCount).toBe(OLD_EVENTS);

    // The two indexes the old table lacks are built afterwards, concurrently, and attached.
    const invalid = () =>
      db.query<{ name: string }>(
        `SELECT indexrelid::regclass::text AS name FROM pg_index
         WHERE indrelid = 'webhook_events'::regclass AND NOT indisvalid ORDER BY 1`,
      );
    expect((await invalid()).rows.map((row) => row.name)).toEqual([
      'webhook_events_data_idx',
      'webhook_events_source_created_at_idx',
    ]);
    expect((await events.completePartitionIndexes()).sort()).toEqual([
      'webhook_events_before_partitions_data_idx',
      'webhook_events_before_partitions_source_created_at_idx',
    ]);
    expect((await invalid()).rows).toEqual([]);
    expect(await events.completePartitionIndexes()).toEqual([]);

    // Old rows (v4 ids) are found by id; new ones are stored in today's partition.
    for (const old of oldIds) {
      expect((await events.findById(old.id))?.eventId).toBe(old.event_id);
    }
    const fresh = await events.insertBatch([event('after-upgrade'), event('old-17')]);
    expect(fresh.stored.map((key) => key.eventId)).toEqual(['after-upgrade']);
    expect(fresh.deliveriesQueued).toBe(1);
    const where = await db.query<{ p: string }>(
      "SELECT tableoid::regclass::text AS p FROM webhook_events WHERE event_id = 'after-upgrade'",
    );
    expect(where.rows[0]?.p).toMatch(/^webhook_events_p\d{8}/);

    // Down: every row back in one table, unique on (source, event_id), deliveries kept.
    const total = OLD_EVENTS + 2 * batches + 1;
    await migrate('down', SINCE_UPGRADE);
    const plain = await db.query<{ relkind: string }>(
      `SELECT relkind FROM pg_class
       WHERE relname IN ('webhook_events', 'rejected_requests') ORDER BY relname`,
    );
    expect(plain.rows.map((row) => row.relkind)).toEqual(['r', 'r']);
    expect(await count('rejected_requests')).toBe(50);
    expect(await count('webhook_events')).toBe(total);
    expect(await count('deliveries')).toBe(total);
    expect(await count("pg_class WHERE relname = 'webhook_event_keys'")).toBe(0);
    const duplicate = await db
      .query(
        `INSERT INTO webhook_events (event_id, source, type, data, "timestamp")
         VALUES ('old-1', 'upgrade', 't', '{}', now())`,
      )
      .catch((err: { code?: string }) => err.code);
    expect(duplicate).toBe('23505');

    // And up again.
    await migrate('up');
    expect(await count('webhook_events')).toBe(total);
    expect(await count('webhook_event_keys')).toBe(total);
  });
});
