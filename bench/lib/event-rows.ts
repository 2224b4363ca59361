import { Database, EventsRepository, migrateUp } from '@webhooks/db';
import type { Logger } from 'pino';
import { BENCH_SOURCE, benchBody } from './payload.js';

/** Drops and migrates the bench's own database, and connects to it. */
export async function recreateDatabase(options: {
  databaseUrl: string;
  logger: Logger;
}): Promise<Database> {
  const { databaseUrl, logger } = options;
  const server = new URL(databaseUrl);
  const name = server.pathname.slice(1);
  server.pathname = '/postgres';
  const admin = new Database({
    connectionString: server.toString(),
    logger,
    maxConnections: 1,
    statementTimeoutMs: 60_000,
    applicationName: 'bench',
  });
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.close();
  await migrateUp({ databaseUrl, logger });
  return new Database({
    connectionString: databaseUrl,
    logger,
    maxConnections: 2,
    statementTimeoutMs: 60_000,
    applicationName: 'bench',
  });
}

/** Rows of the bench's source with `type`. */
export async function rowsOf(db: Database, type: string): Promise<number> {
  const result = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM webhook_events WHERE source = $1 AND type = $2',
    [BENCH_SOURCE, type],
  );
  return result.rows[0]?.n ?? 0;
}

/** Polls until `expected` rows of `type` are stored or `timeoutMs` passed; the count then. */
export async function waitForRows(
  db: Database,
  type: string,
  expected: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let rows = await rowsOf(db, type);
  while (rows < expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    rows = await rowsOf(db, type);
  }
  return rows;
}

/** Receipt-to-stored latency of one phase's rows: `timestamp` is the receipt time (no client timestamp). */
export async function storedLatency(db: Database, type: string) {
  const result = await db.query<{ p50: number; p99: number; first: Date; last: Date }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - "timestamp")) * 1000 AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - "timestamp")) * 1000 AS p99,
            min(created_at) AS first, max(created_at) AS last
     FROM webhook_events WHERE source = $1 AND type = $2`,
    [BENCH_SOURCE, type],
  );
  const row = result.rows[0];
  return {
    p50Ms: Number(row?.p50 ?? 0),
    p99Ms: Number(row?.p99 ?? 0),
    spanSeconds: row === undefined ? 0 : (row.last.getTime() - row.first.getTime()) / 1000,
  };
}

/** Rewrites the phase's `type` so each phase's rows can be told apart in one table. */
export async function retype(db: Database, type: string): Promise<void> {
  await db.query(
    `UPDATE webhook_events SET type = $1 WHERE source = $2 AND type = 'order.created'`,
    [type, BENCH_SOURCE],
  );
}

/** Where the bench body's customer id is: the ordering key of ordered runs. */
export const CUSTOMER_ID_POINTER = '/data/order/customer/id';

/**
 * Stores `count` events of `type` (ids `<type>-0` onwards, the data of the bench body) with the
 * statement the consumer stores with, 500 a batch: the deliveries of the subscriptions they
 * match are made with them. With `customers`, event i is of customer `cus_<i mod customers>`
 * (`CUSTOMER_ID_POINTER`): the keys interleave.
 */
export async function storeEvents(
  db: Database,
  type: string,
  count: number,
  options: { customers?: number } = {},
): Promise<void> {
  const events = new EventsRepository(db);
  const { data } = JSON.parse(benchBody) as { data: { order: { customer: object } } };
  const dataOf = (i: number): Record<string, unknown> =>
    options.customers === undefined
      ? data
      : {
          ...data,
          order: {
            ...data.order,
            customer: { ...data.order.customer, id: `cus_${i % options.customers}` },
          },
        };
  const timestamp = new Date().toISOString();
  for (let first = 0; first < count; first += 500) {
    const rows = Array.from({ length: Math.min(500, count - first) }, (_, i) => ({
      eventId: `${type}-${first + i}`,
      source: BENCH_SOURCE,
      type,
      data: dataOf(first + i),
      timestamp,
    }));
    await events.insertBatch(rows);
  }
}
