import {
  Database,
  DeadLettersRepository,
  type EventRow,
  EventsRepository,
  migrateUp,
} from '@webhooks/db';
import pino from 'pino';
import { writeResult } from './lib/result-file.js';

// `pnpm bench --storage [--per-day N] [--days N]`: the storage of events on its own, no
// services. Fills `--days` (30) days of small events, `--per-day` (300000) a day, through the
// consumer's own insert, each day in its partition; then measures what docs/performance.md
// ("Storage") lists: the insert rate of the last day against the first, the size of a day,
// deduplication of the first day's ids on the last, the queries of the events API and the
// console, and dropping a day. Writes bench/results/<time>-storage.json.

const DAY_MS = 86_400_000;
const BATCH = 1000;
const SOURCES = 10;
const TYPES = ['order.created', 'order.paid', 'order.shipped', 'refund.created', 'invoice.paid'];

interface Options {
  perDay: number;
  days: number;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string, fallback: number) => {
    const at = argv.indexOf(name);
    if (at === -1) return fallback;
    const parsed = Number(argv[at + 1]);
    if (!Number.isInteger(parsed) || parsed <= 0)
      throw new Error(`${name} needs a positive integer`);
    return parsed;
  };
  return { perDay: value('--per-day', 300_000), days: value('--days', 30) };
}

function log(line: string): void {
  process.stdout.write(`· ${line}\n`);
}

const percentile = (samples: readonly number[], p: number): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
};

async function timed(runs: number, work: (run: number) => Promise<unknown>) {
  for (let i = 0; i < 3; i++) await work(i); // warm the cache and the plans
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await work(i);
    samples.push(performance.now() - started);
  }
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return { p50: round(percentile(samples, 50)), p99: round(percentile(samples, 99)), runs };
}

function eventOf(day: number, i: number, perDay: number): EventRow {
  const n = day * perDay + i;
  return {
    eventId: `d${day}-${i}`,
    source: `src-${i % SOURCES}`,
    type: TYPES[i % TYPES.length] ?? 'order.created',
    data: {
      order: { id: n, amount: (n * 7) % 100_000, currency: 'EUR' },
      customer: `c-${n % 5000}`,
    },
    timestamp: new Date(Date.UTC(2026, 0, 1)).toISOString(),
  };
}

export async function runStorageBench(argv: readonly string[]): Promise<number> {
  const options = parseOptions(argv);
  const base = new URL(
    process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/webhooks_bench',
  );
  const logger = pino({ level: 'silent' });
  const url = new URL(base);
  url.pathname = `${base.pathname}_storage`;
  const admin = new URL(base);
  admin.pathname = '/postgres';
  const server = new Database({
    connectionString: admin.toString(),
    logger,
    maxConnections: 1,
    statementTimeoutMs: 120_000,
    applicationName: 'bench-storage',
  });
  await server.query(`DROP DATABASE IF EXISTS ${url.pathname.slice(1)} WITH (FORCE)`);
  await server.close();
  await migrateUp({ databaseUrl: url.toString(), logger });
  const db = new Database({
    connectionString: url.toString(),
    logger,
    maxConnections: 4,
    statementTimeoutMs: 600_000,
    applicationName: 'bench-storage',
  });
  const startedAt = new Date();
  try {
    const now = Date.now();
    const today = Math.floor(now / DAY_MS) * DAY_MS;
    const firstDay = today - options.days * DAY_MS;
    const clock = { at: new Date(firstDay) };
    const events = new EventsRepository(db, { storedAt: () => clock.at });
    const live = new EventsRepository(db);

    // Fill: day 1 is `days` days ago, the last day is yesterday.
    const rates: number[] = [];
    for (let day = 0; day < options.days; day++) {
      const started = performance.now();
      for (let from = 0; from < options.perDay; from += BATCH) {
        clock.at = new Date(firstDay + day * DAY_MS + Math.floor((from / options.perDay) * DAY_MS));
        const rows: EventRow[] = [];
        for (let i = from; i < Math.min(from + BATCH, options.perDay); i++) {
          rows.push(eventOf(day, i, options.perDay));
        }
        await events.insertBatch(rows);
      }
      const rate = Math.round(options.perDay / ((performance.now() - started) / 1000));
      rates.push(rate);
      log(`day ${day + 1}/${options.days}: ${options.perDay} events at ${rate}/s`);
    }
    // What the consumer's hourly run does to the days that ended: one VACUUM each.
    const vacuumStarted = performance.now();
    const vacuumed = await live.vacuumClosedPartitions();
    const vacuumMsPerDay = Math.round(
      (performance.now() - vacuumStarted) / Math.max(1, vacuumed.length),
    );
    log(`vacuumed ${vacuumed.length} closed day(s), ${vacuumMsPerDay} ms each`);
    await db.query('ANALYZE webhook_event_keys');
    const insertRatio = Math.round(((rates.at(-1) ?? 0) / (rates[0] ?? 1)) * 1000) / 1000;

    // Size of one day (the middle one) and of the keys.
    const partitions = await live.partitions();
    const dayStart = (day: number) => new Date(firstDay + day * DAY_MS);
    const partitionOf = (day: number) =>
      partitions.find((p) => p.from?.getTime() === dayStart(day).getTime());
    const middle = partitionOf(Math.floor(options.days / 2));
    const size = await db.query<{ table: string; indexes: string; keys: string; keyRows: string }>(
      `SELECT pg_table_size($1::regclass)::text AS table,
         pg_indexes_size($1::regclass)::text AS indexes,
         pg_total_relation_size('webhook_event_keys')::text AS keys,
         (SELECT reltuples::bigint FROM pg_class WHERE relname = 'webhook_event_keys')::text AS "keyRows"`,
      [middle?.name],
    );
    const mib = (bytes: string | undefined) => Math.round((Number(bytes) / 2 ** 20) * 10) / 10;
    const sizes = size.rows[0];
    const perDay = {
      tableMiB: mib(sizes?.table),
      indexesMiB: mib(sizes?.indexes),
      keysMiB: Math.round((mib(sizes?.keys) / options.days) * 10) / 10,
    };
    const perMillionMiB =
      Math.round(
        ((perDay.tableMiB + perDay.indexesMiB + perDay.keysMiB) / options.perDay) * 1e6 * 10,
      ) / 10;
    log(
      `a day: table ${perDay.tableMiB} MiB, indexes ${perDay.indexesMiB} MiB, keys ${perDay.keysMiB} MiB`,
    );

    // Redeliveries of day 1's ids, stored today.
    let redeliveredInserted = 0;
    const redeliveries = Math.min(10_000, options.perDay);
    const dedupStarted = performance.now();
    for (let from = 0; from < redeliveries; from += BATCH) {
      const rows: EventRow[] = [];
      for (let i = from; i < Math.min(from + BATCH, redeliveries); i++)
        rows.push(eventOf(0, i, options.perDay));
      redeliveredInserted += (await live.insertBatch(rows)).inserted;
    }
    const dedupMs = Math.round(performance.now() - dedupStarted);
    log(`${redeliveries} redeliveries of day 1: ${redeliveredInserted} inserted, ${dedupMs} ms`);

    // Queries.
    const deadLetters = new DeadLettersRepository(db);
    await db.query(
      `INSERT INTO dead_letters (message_key, event_id, source, type, reason, last_error,
         attempts, first_failed_at, dead_lettered_at, body, replayed_at)
       SELECT 'k' || i, 'd0-' || i, 'src-' || (i % ${SOURCES}), 'order.paid', 'retries_exhausted',
         'x', 4, now() - interval '20 days', now() - interval '20 days' + make_interval(secs => i),
         '\\x7b7d', CASE WHEN i <= 9990 THEN now() END
       FROM generate_series(1, 10000) AS i`,
    );
    await db.query('ANALYZE dead_letters');
    const windowDay = Math.floor(options.days / 3);
    const list = await timed(200, (i) =>
      live.findEvents({ source: `src-${i % SOURCES}`, limit: 50 }),
    );
    const window = await timed(100, (i) =>
      live.findEvents({
        source: `src-${i % SOURCES}`,
        from: dayStart(windowDay).toISOString(),
        to: dayStart(windowDay + 1).toISOString(),
        limit: 50,
      }),
    );
    const contains = await timed(50, (i) =>
      live.findEvents({
        contains: JSON.stringify({
          order: { id: ((i * 7919) % options.days) * options.perDay + i },
        }),
        limit: 50,
      }),
    );
    const ids = (
      await db.query<{ id: string }>(
        `SELECT id FROM webhook_events WHERE created_at >= $1 AND created_at < $2 LIMIT 100`,
        [dayStart(Math.floor(options.days / 2)), dayStart(Math.floor(options.days / 2) + 1)],
      )
    ).rows.map((r) => r.id);
    const byId = await timed(200, (i) => live.findById(ids[i % ids.length] ?? ''));
    const overview = await timed(50, async () => {
      const until = new Date();
      const since = new Date(until.getTime() - 3_600_000);
      await Promise.all([
        live.countBySourceAndType({ from: since.toISOString(), to: until.toISOString() }),
        deadLetters.countSince(since),
        deadLetters.oldestWaiting(),
      ]);
    });
    // A day's counts, as the console's stats of the last day read them.
    const dayCounts = await timed(10, () =>
      live.countBySourceAndType({
        from: dayStart(options.days - 1).toISOString(),
        to: new Date(today).toISOString(),
      }),
    );
    const plan = await db.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (FORMAT JSON) SELECT id FROM webhook_events
       WHERE source = 'src-1' AND created_at >= $1 AND created_at < $2
       ORDER BY created_at DESC, id DESC LIMIT 51`,
      [dayStart(windowDay), dayStart(windowDay + 1)],
    );
    const windowPartitions = new Set(
      JSON.stringify(plan.rows[0]?.['QUERY PLAN']).match(/"Relation Name":"[^"]+"/g) ?? [],
    ).size;
    log(
      `list p99 ${list.p99} ms, window p99 ${window.p99} ms (${windowPartitions} partition), contains p99 ${contains.p99} ms, by id p99 ${byId.p99} ms, overview p99 ${overview.p99} ms`,
    );

    // Drop day 1 while a writer stores today.
    const first = partitionOf(0);
    if (first === undefined) throw new Error('no partition for day 1');
    let writing = true;
    let slowestInsertMs = 0;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        const started = performance.now();
        const rows = Array.from({ length: 100 }, (_, i) =>
          eventOf(options.days + 1, written + i, options.perDay),
        );
        await live.insertBatch(rows);
        written += rows.length;
        slowestInsertMs = Math.max(slowestInsertMs, performance.now() - started);
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const dropStarted = performance.now();
    await live.dropPartition(first, BATCH);
    const dropMs = Math.round(performance.now() - dropStarted);
    const keysStarted = performance.now();
    let keys = 0;
    for (;;) {
      const removed = await live.deleteKeysBefore(dayStart(1), BATCH);
      keys += removed;
      if (removed < BATCH) break;
    }
    const keysMs = Math.round(performance.now() - keysStarted);
    writing = false;
    await writer;
    await new Promise((resolve) => setTimeout(resolve, 1500)); // statistics are sent each second
    const dead = await db.query<{ events: string; keys: string }>(
      `SELECT
         (SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables
          WHERE relid IN (SELECT partition FROM partition_bounds('webhook_events')))::text AS events,
         (SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'webhook_event_keys')::text AS keys`,
    );
    const keysPerMillionMs = keys === 0 ? 0 : Math.round((keysMs / keys) * 1e6);
    log(
      `dropped day 1 in ${dropMs} ms; ${keys} keys cleared in ${keysMs} ms; slowest insert meanwhile ${Math.round(slowestInsertMs)} ms`,
    );

    const result = {
      kind: 'storage',
      startedAt: startedAt.toISOString(),
      options,
      insert: { ratesPerSecond: rates, lastOverFirst: insertRatio },
      vacuumMsPerDay,
      sizePerDay: perDay,
      sizePerMillionEventsMiB: perMillionMiB,
      dedup: { redeliveries, inserted: redeliveredInserted, ms: dedupMs },
      queriesMs: { list, window, windowPartitions, contains, byId, overview, dayCounts },
      dropDay: {
        ms: dropMs,
        keys,
        keysMs,
        keysPerMillionMs,
        slowestInsertMs: Math.round(slowestInsertMs),
        deadTuples: { events: Number(dead.rows[0]?.events), keys: Number(dead.rows[0]?.keys) },
      },
    };
    const gates: Array<[string, boolean]> = [
      [`insert rate day ${options.days} / day 1 = ${insertRatio} >= 0.9`, insertRatio >= 0.9],
      [`drop one day ${dropMs} ms < 1000`, dropMs < 1000],
      [
        `dead tuples in events ${result.dropDay.deadTuples.events} = 0`,
        result.dropDay.deadTuples.events === 0,
      ],
      [`redeliveries inserted ${redeliveredInserted} = 0`, redeliveredInserted === 0],
      [`GET /events?source&limit=50 p99 ${list.p99} ms <= 20`, list.p99 <= 20],
      [`contains p99 ${contains.p99} ms <= 100`, contains.p99 <= 100],
      [`overview p99 ${overview.p99} ms <= 200`, overview.p99 <= 200],
      [`a time window reads ${windowPartitions} partition(s) = 1`, windowPartitions === 1],
    ];
    const file = writeResult(startedAt, '-storage', { ...result, gates });
    process.stdout.write(
      `\n${gates.map(([text, ok]) => `${ok ? 'ok  ' : 'FAIL'} ${text}`).join('\n')}\n`,
    );
    process.stdout.write(`Written to ${file}\n`);
    return gates.every(([, ok]) => ok) ? 0 : 1;
  } finally {
    await db.close();
  }
}
