import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Database, migrateUp } from '@webhooks/db';
import {
  AmqpConnection,
  assertTopology,
  ConfirmPublisher,
  QueueAdmin,
  type Topology,
  topologyFor,
} from '@webhooks/queue';
import { pino } from 'pino';
import { RabbitCluster } from '../test/helpers/rabbit-cluster.js';
import { BENCH_SOURCE } from './payload.js';
import { ROOT, type Running, runJson, startNode, waitUntilOk } from './processes.js';
import { checkTargets, renderReport } from './report.js';
import type { BenchResult, ClosedLoad, FixedRateLoad } from './types.js';

// `pnpm bench [--quick] [--cluster]`: measures the pipeline on this machine, every phase in one
// run, and writes bench/results/<timestamp>.json. See docs/performance.md for what each phase
// means. `--cluster` starts three RabbitMQ nodes of the installed rabbitmq-server beside the
// machine's own (the test suite's helper) and gives the services all three, with quorum queues;
// `BENCH_AMQP_URL` may also list the nodes of a running cluster, comma-separated.
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    // Writes a V8 CPU profile per service process to bench/profiles/ (see bench/top-functions.ts).
    profile: { type: 'boolean', default: false },
    // The queue type every phase uses: `classic` (one node's figures, comparable with earlier
    // runs) or `quorum` (the services' default; always so with --cluster).
    'queue-type': { type: 'string', default: 'classic' },
    cluster: { type: 'boolean', default: false },
  },
});
const queueType = values['queue-type'] === 'quorum' || values.cluster ? 'quorum' : 'classic';
const profileArgs = values.profile ? ['--cpu-prof', '--cpu-prof-dir=bench/profiles'] : [];
const quick = values.quick;
const plan = quick
  ? {
      loadSeconds: 4,
      e2eSeconds: 5,
      connections: 100,
      drainMessages: 20_000,
      fixedRate: 2000,
      fixedSeconds: 5,
    }
  : {
      loadSeconds: 10,
      e2eSeconds: 15,
      connections: 100,
      drainMessages: 100_000,
      fixedRate: 2000,
      fixedSeconds: 30,
    };

/** The broker's node(s); set in `main()` when `--cluster` starts its own. */
let amqpUrls = (process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672')
  .split(',')
  .map((url) => url.trim())
  .filter((url) => url !== '');
const DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/webhooks_bench';
const INGEST_PORT = 18_080;
const CONSUMER_PORT = 18_082;
const BARE_PORT = 18_090;
const logger = pino({ level: 'warn' });
const runId = Date.now().toString(36);
const topologies: Topology[] = [];

function freshTopology(phase: string): Topology {
  const topology = topologyFor({
    exchange: `bench_${runId}_${phase}`,
    queue: `bench_${runId}_${phase}`,
    retryDelaysMs: [1000, 2000, 4000],
    queueType,
  });
  topologies.push(topology);
  return topology;
}

/** Extra settings for both services, as JSON (`BENCH_SERVICE_ENV='{"BATCH_SIZE":"1000"}'`). */
const extraServiceEnv = JSON.parse(process.env.BENCH_SERVICE_ENV ?? '{}') as Record<string, string>;

function serviceEnv(topology: Topology): Record<string, string> {
  return {
    ...extraServiceEnv,
    AMQP_URL: amqpUrls.join(','),
    DATABASE_URL,
    EXCHANGE_NAME: topology.exchange,
    QUEUE_NAME: topology.queue,
    QUEUE_TYPE: topology.queueType,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
  };
}

async function startIngest(topology: Topology): Promise<Running> {
  const ingest = startNode([...profileArgs, 'services/ingest-api/dist/main.js'], {
    ...serviceEnv(topology),
    PORT: String(INGEST_PORT),
  });
  await waitUntilOk(`http://127.0.0.1:${INGEST_PORT}/readyz`);
  return ingest;
}

async function startConsumer(topology: Topology): Promise<Running> {
  const consumer = startNode([...profileArgs, 'services/consumer/dist/main.js'], {
    ...serviceEnv(topology),
    PORT: String(CONSUMER_PORT),
  });
  await waitUntilOk(`http://127.0.0.1:${CONSUMER_PORT}/readyz`);
  return consumer;
}

/**
 * Webhooks the running ingest API answered 200, from its own counter. The load generator's
 * count stops at the end of its window; requests still in flight then are answered too.
 */
async function acceptedByIngest(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${INGEST_PORT}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('webhooks_accepted_total '));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

const closedLoad = (url: string, seconds: number) =>
  runJson<ClosedLoad>(['bench/closed-load.ts', url, String(plan.connections), String(seconds)]);

async function recreateDatabase(): Promise<Database> {
  const server = new URL(DATABASE_URL);
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
  await migrateUp({ databaseUrl: DATABASE_URL, logger });
  return new Database({
    connectionString: DATABASE_URL,
    logger,
    maxConnections: 2,
    statementTimeoutMs: 60_000,
    applicationName: 'bench',
  });
}

async function rowsOf(db: Database, type: string): Promise<number> {
  const result = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM webhook_events WHERE source = $1 AND type = $2',
    [BENCH_SOURCE, type],
  );
  return result.rows[0]?.n ?? 0;
}

async function waitForRows(
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
async function storedLatency(db: Database, type: string) {
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
async function retype(db: Database, type: string): Promise<void> {
  await db.query(
    `UPDATE webhook_events SET type = $1 WHERE source = $2 AND type = 'order.created'`,
    [type, BENCH_SOURCE],
  );
}

async function prefill(topology: Topology, count: number): Promise<void> {
  const connection = new AmqpConnection({
    url: amqpUrls,
    logger,
    connectionName: 'bench-prefill',
  });
  const publisher = new ConfirmPublisher({
    connection,
    logger,
    timeoutMs: 30_000,
    maxInFlight: 1000,
    setup: (channel) => assertTopology(channel, topology),
  });
  connection.start();
  await connection.waitUntilConnected(10_000);
  const now = new Date().toISOString();
  const window: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const id = `drain-${i}`;
    const body = Buffer.from(
      JSON.stringify({
        id,
        source: BENCH_SOURCE,
        type: 'drain',
        data: { i },
        timestamp: now,
        receivedAt: now,
      }),
    );
    window.push(
      publisher.publish({
        exchange: '',
        routingKey: topology.queue,
        body,
        properties: { messageId: id, contentType: 'application/json', headers: { 'x-attempt': 1 } },
      }),
    );
    if (window.length >= 500) await Promise.all(window.splice(0));
  }
  await Promise.all(window);
  await publisher.close();
  await connection.close();
}

async function main(): Promise<void> {
  let cluster: RabbitCluster | undefined;
  if (values.cluster) {
    log('cluster: starting three RabbitMQ nodes');
    cluster = await RabbitCluster.start({ log });
    amqpUrls = cluster.urls;
  }
  try {
    await measure();
  } finally {
    await cluster?.close();
  }
}

async function measure(): Promise<void> {
  const startedAt = new Date();
  const db = await recreateDatabase();
  const admin = await QueueAdmin.connect(amqpUrls);
  const rss: Record<'ingest' | 'consumer', number> = { ingest: 0, consumer: 0 };
  const noteRss = (service: 'ingest' | 'consumer', running: Running) => {
    rss[service] = Math.max(rss[service], running.peakRssMb() ?? 0);
  };

  try {
    log(`ceiling: bare Node HTTP server, ${plan.connections} connections, ${plan.loadSeconds} s`);
    const bare = startNode(['--import', 'tsx', 'bench/bare-server.ts', String(BARE_PORT)]);
    await waitForListening(BARE_PORT);
    const ceiling = await closedLoad(`http://127.0.0.1:${BARE_PORT}/webhook`, plan.loadSeconds);
    await bare.stop();

    log(`ingest: API with publisher confirms, consumer stopped, ${plan.loadSeconds} s`);
    const ingestTopology = freshTopology('ingest');
    let ingest = await startIngest(ingestTopology);
    const ingestOnly = await closedLoad(
      `http://127.0.0.1:${INGEST_PORT}/webhook`,
      plan.loadSeconds,
    );
    const ingestAccepted = await acceptedByIngest();
    const queued = await admin.count(ingestTopology.queue);
    noteRss('ingest', ingest);
    await ingest.stop();

    log(`end to end: ingest + consumer, ${plan.e2eSeconds} s`);
    const e2eTopology = freshTopology('e2e');
    let consumer = await startConsumer(e2eTopology);
    ingest = await startIngest(e2eTopology);
    const e2eStart = Date.now();
    const e2eLoad = await closedLoad(`http://127.0.0.1:${INGEST_PORT}/webhook`, plan.e2eSeconds);
    const e2eAccepted = await acceptedByIngest();
    const e2eRows = await waitForRows(db, 'order.created', e2eAccepted, 60_000);
    const e2eSeconds = (Date.now() - e2eStart) / 1000;
    await retype(db, 'e2e');
    const e2eLatency = await storedLatency(db, 'e2e');
    noteRss('ingest', ingest);
    noteRss('consumer', consumer);
    await ingest.stop();
    await consumer.stop();

    log(`drain: ${plan.drainMessages} messages pre-filled, then the consumer alone`);
    const drainTopology = freshTopology('drain');
    await prefill(drainTopology, plan.drainMessages);
    consumer = await startConsumer(drainTopology);
    const drainRows = await waitForRows(db, 'drain', plan.drainMessages, 120_000);
    const drainLatency = await storedLatency(db, 'drain');
    noteRss('consumer', consumer);
    await consumer.stop();

    log(`fixed rate: ${plan.fixedRate} requests/s for ${plan.fixedSeconds} s, ingest + consumer`);
    const fixedTopology = freshTopology('fixed');
    consumer = await startConsumer(fixedTopology);
    ingest = await startIngest(fixedTopology);
    const fixedLoad = await runJson<FixedRateLoad>([
      'bench/fixed-rate-load.ts',
      `http://127.0.0.1:${INGEST_PORT}/webhook`,
      String(plan.fixedRate),
      String(plan.fixedSeconds),
    ]);
    const fixedAccepted = await acceptedByIngest();
    const fixedRows = await waitForRows(db, 'order.created', fixedAccepted, 60_000);
    await retype(db, 'fixed');
    const fixedLatency = await storedLatency(db, 'fixed');
    noteRss('ingest', ingest);
    noteRss('consumer', consumer);
    await ingest.stop();
    await consumer.stop();

    const result: BenchResult = {
      startedAt: startedAt.toISOString(),
      mode: quick ? 'quick' : 'full',
      queueType,
      brokerNodes: amqpUrls.length,
      serviceEnv: extraServiceEnv,
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      plan,
      ceiling,
      ingest: { ...ingestOnly, accepted: ingestAccepted, queued },
      endToEnd: {
        load: e2eLoad,
        accepted: e2eAccepted,
        stored: e2eRows,
        persistedPerSecond: e2eRows / e2eSeconds,
        storedP50Ms: e2eLatency.p50Ms,
        storedP99Ms: e2eLatency.p99Ms,
      },
      drain: {
        messages: plan.drainMessages,
        stored: drainRows,
        rowsPerSecond: drainRows / Math.max(drainLatency.spanSeconds, 0.001),
      },
      fixedRate: {
        load: fixedLoad,
        accepted: fixedAccepted,
        stored: fixedRows,
        storedP50Ms: fixedLatency.p50Ms,
        storedP99Ms: fixedLatency.p99Ms,
      },
      peakRssMb: rss,
    };
    const checks = checkTargets(result);
    const file = `bench/results/${startedAt.toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}${values.cluster ? '-cluster' : ''}.json`;
    mkdirSync(`${ROOT}bench/results`, { recursive: true });
    writeFileSync(`${ROOT}${file}`, `${JSON.stringify({ ...result, checks }, null, 2)}\n`);
    process.stdout.write(`\n${renderReport(result, checks)}\nWritten to ${file}\n`);

    // --quick gates CI on ratios and loss only; absolute figures depend on the machine.
    const gating = checks.filter((c) => c.gate && !c.pass);
    if (quick && gating.length > 0) {
      process.stdout.write(`\nFAILED: ${gating.map((c) => c.name).join('; ')}\n`);
      process.exitCode = 1;
    }
  } finally {
    for (const topology of topologies) await admin.deleteTopology(topology).catch(() => {});
    await admin.close();
    await db.close();
  }
}

async function waitForListening(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`port ${port} not listening`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

function log(line: string): void {
  process.stdout.write(`· ${line}\n`);
}

await main();
