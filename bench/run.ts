import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Database, migrateUp } from '@webhooks/db';
import {
  AmqpConnection,
  ConfirmPublisher,
  QueueAdmin,
  type Topology,
  type TopologyOptions,
  topologyFor,
} from '@webhooks/queue';
import { pino } from 'pino';
import { RabbitCluster } from '../test/helpers/rabbit-cluster.js';
import type { BrokerLoadPlan } from './broker-load.js';
import { largeBodiesPhase } from './large-bodies.js';
import { round } from './lib/latency-seconds.js';
import { measureCpu, sampleMachine } from './lib/machine-samples.js';
import type { OpenLoopResult } from './lib/open-loop.js';
import { BENCH_SOURCE } from './lib/payload.js';
import {
  assertListensOn,
  freePort,
  ROOT,
  type Running,
  runJson,
  startNode,
  waitForLine,
  waitUntilOk,
} from './lib/processes.js';
import { parsePrometheusText, sumOf } from './lib/prometheus-text.js';
import { sampleEverySecond, serviceSeconds } from './lib/service-samples.js';
import { checkTargets, renderColdStart, renderReport, renderSoak } from './report.js';
import type {
  BenchResult,
  BrokerCeiling,
  ClosedLoad,
  ColdStartResult,
  ColdStartRun,
  EndToEnd,
  FixedRate,
  PeakRssByPhase,
  Plan,
  ServerTime,
  SoakResult,
} from './types.js';

// `pnpm bench [--quick | --soak] [--cluster]`: measures the pipeline on this machine, every phase
// in one run, and writes bench/results/<timestamp>.json. See docs/performance.md for what each
// phase means. `--cluster` starts three RabbitMQ nodes of the installed rabbitmq-server beside the
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
    // The fixed-rate phase: requests per second and seconds (default 2,000 for 60 s).
    rate: { type: 'string' },
    seconds: { type: 'string' },
    // Only a long fixed-rate run (default 1,500 requests/s for 600 s; --rate/--seconds apply):
    // p99 and RSS per minute, every 200 stored.
    soak: { type: 'boolean', default: false },
    // Only a cold start: one fresh ingest API, the fixed-rate generator run against it three
    // times in a row (5 s each, a new generator process each time), latency second by second.
    'cold-start': { type: 'boolean', default: false },
    // Only a drain, the consumer's memory sampled twice a second: peak RSS, V8 heap, rows/s.
    'drain-memory': { type: 'boolean', default: false },
  },
});
const queueType = values['queue-type'] === 'quorum' || values.cluster ? 'quorum' : 'classic';
const profileArgs = values.profile ? ['--cpu-prof', '--cpu-prof-dir=bench/profiles'] : [];
/**
 * Node flags added after the `start` script's own (`BENCH_NODE_FLAGS='--max-old-space-size=4096'`;
 * for V8 the last occurrence of a flag wins), to compare settings.
 */
const extraNodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f !== '');
const quick = values.quick;
const optionalNumber = (value: string | undefined) =>
  value === undefined ? undefined : Number(value);
const plan: Plan = quick
  ? {
      loadSeconds: 4,
      connections: 100,
      e2eSeconds: 5,
      e2eConnections: [100],
      drainMessages: 20_000,
      fixedRate: optionalNumber(values.rate) ?? 2000,
      fixedSeconds: optionalNumber(values.seconds) ?? 5,
      warmupSeconds: 1,
      brokerFixedRate: false,
    }
  : {
      loadSeconds: 10,
      connections: 100,
      e2eSeconds: 15,
      e2eConnections: [64, 128, 256],
      drainMessages: 100_000,
      fixedRate: optionalNumber(values.rate) ?? 2000,
      fixedSeconds: optionalNumber(values.seconds) ?? 60,
      warmupSeconds: 5,
      brokerFixedRate: true,
    };

/** The broker's node(s); set in `main()` when `--cluster` starts its own. */
let amqpUrls = (process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672')
  .split(',')
  .map((url) => url.trim())
  .filter((url) => url !== '');
const DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/webhooks_bench';
const logger = pino({ level: 'warn' });
const runId = Date.now().toString(36);
const topologies: Topology[] = [];

function topologyOptions(phase: string): TopologyOptions {
  return {
    exchange: `bench_${runId}_${phase}`,
    queue: `bench_${runId}_${phase}`,
    retryDelaysMs: [1000, 2000, 4000],
    queueType,
  };
}

function freshTopology(phase: string): Topology {
  const topology = topologyFor(topologyOptions(phase));
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

/** A service process and the port it was started on (checked to be its own). */
interface Service {
  running: Running;
  port: number;
  url(path: string): string;
}

/**
 * The Node flags of a service's `start` script (`node <flags> dist/main.js`), so the bench runs
 * the services as `pnpm start` and the images do.
 */
function startFlags(service: string): string[] {
  const manifest = JSON.parse(readFileSync(`${ROOT}services/${service}/package.json`, 'utf8')) as {
    scripts?: { start?: string };
  };
  const words = (manifest.scripts?.start ?? '').split(/\s+/);
  return words.slice(words.indexOf('node') + 1, words.indexOf('dist/main.js'));
}

async function startService(
  name: string,
  service: string,
  topology: Topology,
  env: Record<string, string> = {},
): Promise<Service> {
  const port = await freePort();
  const args = [
    ...profileArgs,
    ...startFlags(service),
    ...extraNodeFlags,
    `services/${service}/dist/main.js`,
  ];
  const running = startNode(name, args, {
    ...serviceEnv(topology),
    ...env,
    PORT: String(port),
  });
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  try {
    await waitUntilOk(url('/readyz'));
    assertListensOn(running, port);
  } catch (err) {
    await running.stop();
    throw err;
  }
  return { running, port, url };
}

const startIngest = (topology: Topology) => startService('ingest API', 'ingest-api', topology);
const startConsumer = (topology: Topology) => startService('consumer', 'consumer', topology);

/**
 * Webhooks the running ingest API answered 200, from its own counter. The load generator's
 * count stops at the end of its window; requests still in flight then are answered too.
 */
async function acceptedBy(ingest: Service): Promise<number> {
  const text = await (await fetch(ingest.url('/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith('webhooks_accepted_total '));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

/**
 * The ingest's own account of a request's time, from its `/metrics`: the mean time Fastify
 * measured for `POST /webhook`, and the mean wait for the broker's confirm within it.
 */
async function serverTimeOf(ingest: Service): Promise<ServerTime> {
  const scrape = parsePrometheusText(await (await fetch(ingest.url('/metrics'))).text());
  const mean = (name: string, filter: string) =>
    round(
      (sumOf(scrape, `${name}_sum`, filter) / sumOf(scrape, `${name}_count`, filter)) * 1000,
      2,
    );
  return {
    requestMeanMs: mean('http_request_duration_seconds', 'route="/webhook"'),
    confirmMeanMs: mean('publish_confirm_duration_seconds', 'outcome="confirmed"'),
  };
}

/**
 * `acceptedBy` once requests still in flight when the load generator stopped have been
 * answered: the count has not moved for a second (or 30 s passed). Read earlier, the queue or
 * table would hold events the count has not seen yet.
 */
async function settledAccepted(ingest: Service): Promise<number> {
  const deadline = Date.now() + 30_000;
  let accepted = await acceptedBy(ingest);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = await acceptedBy(ingest);
    if (now === accepted || Date.now() > deadline) return now;
    accepted = now;
  }
}

const closedLoad = (url: string, connections: number, seconds: number) =>
  runJson<ClosedLoad>(['bench/closed-load.ts', url, String(connections), String(seconds)]);

const fixedRateLoad = (url: string, rate: number, seconds: number, warmupSeconds: number) =>
  runJson<OpenLoopResult>([
    'bench/fixed-rate-load.ts',
    url,
    String(rate),
    String(seconds),
    String(warmupSeconds),
  ]);

const brokerLoad = <T>(loadPlan: Omit<BrokerLoadPlan, 'amqpUrl'>) =>
  runJson<T>(['bench/broker-load.ts', JSON.stringify({ amqpUrl: amqpUrls, ...loadPlan })]);

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
  const connection = new AmqpConnection({ url: amqpUrls, logger, connectionName: 'bench-prefill' });
  const publisher = new ConfirmPublisher({
    connection,
    logger,
    timeoutMs: 30_000,
    maxInFlight: 1000,
    topology,
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

const rss: Record<'ingest' | 'consumer', number> = { ingest: 0, consumer: 0 };
/** Each phase's own peak, to tell which phase sets the overall one. */
const rssByPhase: PeakRssByPhase = {};

/**
 * Stops the services of a phase, after checking they ran to its end and noting their peak RSS
 * (in the overall peak too unless `inOverallPeak` is false).
 */
async function stopServices(
  phase: string,
  services: { ingest?: Service; consumer?: Service },
  { inOverallPeak = true } = {},
): Promise<void> {
  const { ingest, consumer } = services;
  try {
    ingest?.running.assertRunning();
    consumer?.running.assertRunning();
  } finally {
    const peaks = {
      ingest: ingest?.running.peakRssMb() ?? rssByPhase[phase]?.ingest,
      consumer: consumer?.running.peakRssMb() ?? rssByPhase[phase]?.consumer,
    };
    rssByPhase[phase] = peaks;
    if (inOverallPeak) {
      rss.ingest = Math.max(rss.ingest, peaks.ingest ?? 0);
      rss.consumer = Math.max(rss.consumer, peaks.consumer ?? 0);
    }
    await ingest?.running.stop();
    await consumer?.running.stop();
  }
}

async function ceilingPhase(): Promise<ClosedLoad> {
  log(`ceiling: bare Node HTTP server, ${plan.connections} connections, ${plan.loadSeconds} s`);
  const bare = startNode('bare server', ['--import', 'tsx', 'bench/bare-server.ts']);
  try {
    const port = Number((await waitForLine(bare, /^listening \d+/)).split(' ')[1]);
    assertListensOn(bare, port);
    const cpu = measureCpu({ server: bare.child.pid });
    const load = await closedLoad(
      `http://127.0.0.1:${port}/webhook`,
      plan.connections,
      plan.loadSeconds,
    );
    bare.assertRunning();
    return { ...load, cpu: cpu.stop() };
  } finally {
    await bare.stop();
  }
}

async function brokerCeilingPhase(admin: QueueAdmin): Promise<BrokerCeiling> {
  log(
    `broker ceiling: confirmed publishes, ${plan.connections} outstanding, ${plan.loadSeconds} s`,
  );
  const topology = freshTopology('broker');
  const cpu = measureCpu({});
  const load = await brokerLoad<Omit<BrokerCeiling, 'queued'>>({
    topology: topologyOptions('broker'),
    mode: 'closed',
    concurrency: plan.connections,
    seconds: plan.loadSeconds,
  });
  return { ...load, cpu: cpu.stop(), queued: await admin.count(topology.queue) };
}

async function ingestPhase(admin: QueueAdmin): Promise<BenchResult['ingest']> {
  log(`ingest: API with publisher confirms, consumer stopped, ${plan.loadSeconds} s`);
  const topology = freshTopology('ingest');
  const ingest = await startIngest(topology);
  try {
    const cpu = measureCpu({ server: ingest.running.child.pid });
    const load = await closedLoad(ingest.url('/webhook'), plan.connections, plan.loadSeconds);
    const share = cpu.stop();
    const accepted = await settledAccepted(ingest);
    return {
      ...load,
      cpu: share,
      serverTime: await serverTimeOf(ingest),
      accepted,
      queued: await admin.count(topology.queue),
    };
  } finally {
    await stopServices('ingest', { ingest });
  }
}

/** The end-to-end curve: one topology and pair of services, one level after the other. */
async function endToEndPhase(db: Database): Promise<EndToEnd[]> {
  const topology = freshTopology('e2e');
  const consumer = await startConsumer(topology);
  const ingest = await startIngest(topology);
  const curve: EndToEnd[] = [];
  try {
    for (const connections of plan.e2eConnections) {
      log(`end to end: ingest + consumer, ${connections} connections, ${plan.e2eSeconds} s`);
      const acceptedBefore = await acceptedBy(ingest);
      const started = Date.now();
      const load = await closedLoad(ingest.url('/webhook'), connections, plan.e2eSeconds);
      const accepted = (await settledAccepted(ingest)) - acceptedBefore;
      const stored = await waitForRows(db, 'order.created', accepted, 60_000);
      const seconds = (Date.now() - started) / 1000;
      const type = `e2e-${connections}`;
      await retype(db, type);
      const latency = await storedLatency(db, type);
      curve.push({
        connections,
        load,
        accepted,
        stored,
        persistedPerSecond: stored / seconds,
        storedP50Ms: latency.p50Ms,
        storedP99Ms: latency.p99Ms,
      });
    }
    return curve;
  } finally {
    await stopServices('e2e', { ingest, consumer });
  }
}

async function drainPhase(db: Database): Promise<BenchResult['drain']> {
  log(`drain: ${plan.drainMessages} messages pre-filled, then the consumer alone`);
  return drain(db, 'drain');
}

/**
 * Pre-fills a fresh queue with `plan.drainMessages`, then lets a consumer alone store them;
 * `watch` is started with the consumer and stopped before it is.
 */
async function drain(
  db: Database,
  phase: string,
  watch?: (consumer: Service) => () => void,
): Promise<BenchResult['drain']> {
  const topology = freshTopology('drain');
  await prefill(topology, plan.drainMessages);
  const consumer = await startConsumer(topology);
  const stopWatching = watch?.(consumer);
  try {
    const stored = await waitForRows(db, 'drain', plan.drainMessages, 120_000);
    const latency = await storedLatency(db, 'drain');
    return {
      messages: plan.drainMessages,
      stored,
      rowsPerSecond: stored / Math.max(latency.spanSeconds, 0.001),
    };
  } finally {
    stopWatching?.();
    await stopServices(phase, { consumer });
  }
}

/**
 * Open-loop load at `rate` for `seconds`, through the ingest API (`via: 'http'`) or straight to
 * the broker (`via: 'broker'`), the consumer storing; both services sampled once a second.
 */
async function fixedRatePhase(
  db: Database,
  options: { via: 'http' | 'broker'; rate: number; seconds: number; warmupSeconds: number },
): Promise<FixedRate> {
  const { via, rate, seconds, warmupSeconds } = options;
  const phase = via === 'http' ? 'fixed' : 'broker-fixed';
  log(
    `${phase}: ${rate}/s for ${seconds} s ${via === 'http' ? 'through the ingest API' : 'straight to the broker'}, consumer storing`,
  );
  const topology = freshTopology(phase);
  const consumer = await startConsumer(topology);
  const ingest = via === 'http' ? await startIngest(topology) : undefined;
  let stopped = false;
  try {
    const machineSamples = sampleMachine();
    const consumerSamples = sampleEverySecond(consumer.url('/metrics'));
    const ingestSamples =
      ingest === undefined ? undefined : sampleEverySecond(ingest.url('/metrics'));
    const load =
      ingest === undefined
        ? await brokerLoad<OpenLoopResult>({
            topology: topologyOptions(phase),
            mode: 'open',
            ratePerSecond: rate,
            seconds,
            warmupSeconds,
          })
        : await fixedRateLoad(ingest.url('/webhook'), rate, seconds, warmupSeconds);
    const machineSeconds = machineSamples.stop(load.startedAtMs);
    const accepted = ingest === undefined ? load.ok : await settledAccepted(ingest);
    const ingestSeconds = serviceSeconds((await ingestSamples?.stop()) ?? [], load.startedAtMs);
    await waitForRows(db, 'order.created', accepted, 60_000);
    const consumerSeconds = serviceSeconds(await consumerSamples.stop(), load.startedAtMs);
    // Stopped before the rows are labelled, so none of this phase is stored after and counted
    // as the next phase's (publishes that timed out may still be stored: not loss, extra).
    stopped = true;
    await stopServices(phase, { ...(ingest ? { ingest } : {}), consumer });
    await retype(db, phase);
    const stored = await rowsOf(db, phase);
    const latency = await storedLatency(db, phase);
    return {
      load,
      accepted,
      stored,
      storedP50Ms: latency.p50Ms,
      storedP99Ms: latency.p99Ms,
      ingest: ingestSeconds,
      consumer: consumerSeconds,
      machine: machineSeconds,
    };
  } finally {
    if (!stopped) await stopServices(phase, { ...(ingest ? { ingest } : {}), consumer });
  }
}

function machine(loadAverageAtStart: number): BenchResult['machine'] {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverage: { start: loadAverageAtStart, end: loadavg()[0] ?? 0 },
  };
}

function writeResult(startedAt: Date, suffix: string, result: unknown): string {
  const file = `bench/results/${startedAt.toISOString().replace(/[:.]/g, '-')}${suffix}.json`;
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  writeFileSync(`${ROOT}${file}`, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

async function benchmark(db: Database, admin: QueueAdmin): Promise<void> {
  const startedAt = new Date();
  const loadAverageAtStart = loadavg()[0] ?? 0;
  const ceiling = await ceilingPhase();
  const brokerCeiling = await brokerCeilingPhase(admin);
  const ingest = await ingestPhase(admin);
  const endToEndCurve = await endToEndPhase(db);
  const drain = await drainPhase(db);
  const fixedOptions = {
    rate: plan.fixedRate,
    seconds: plan.fixedSeconds,
    warmupSeconds: plan.warmupSeconds,
  };
  const brokerFixedRate = plan.brokerFixedRate
    ? await fixedRatePhase(db, { via: 'broker', ...fixedOptions })
    : undefined;
  const fixedRate = await fixedRatePhase(db, { via: 'http', ...fixedOptions });
  const largeBodies = await largeBodiesPhase({
    db,
    freshTopology,
    start: (service, topology) =>
      service === 'ingest' ? startIngest(topology) : startConsumer(topology),
    stop: async (services) => {
      // Its own peak: the overall one stays that of small bodies, comparable with earlier runs.
      await stopServices('large-bodies', services, { inOverallPeak: false });
      return rssByPhase['large-bodies'] ?? {};
    },
    waitForRows,
    log,
  });
  const endToEnd = endToEndCurve.at(-1);
  if (endToEnd === undefined) throw new Error('no end-to-end level ran');

  const result: BenchResult = {
    startedAt: startedAt.toISOString(),
    mode: quick ? 'quick' : 'full',
    queueType,
    brokerNodes: amqpUrls.length,
    serviceEnv: extraServiceEnv,
    machine: machine(loadAverageAtStart),
    plan,
    ceiling,
    brokerCeiling,
    ingest,
    endToEnd,
    endToEndCurve,
    drain,
    brokerFixedRate,
    fixedRate,
    largeBodies,
    peakRssMb: rss,
    peakRssByPhase: rssByPhase,
  };
  const checks = checkTargets(result);
  const suffix = `${quick ? '-quick' : ''}${values.cluster ? '-cluster' : ''}`;
  const file = writeResult(startedAt, suffix, { ...result, checks });
  process.stdout.write(`\n${renderReport(result, checks)}\nWritten to ${file}\n`);

  // --quick gates CI on ratios and loss only; absolute figures depend on the machine.
  const gating = checks.filter((c) => c.gate && !c.pass);
  if (quick && gating.length > 0) {
    process.stdout.write(`\nFAILED: ${gating.map((c) => c.name).join('; ')}\n`);
    process.exitCode = 1;
  }
}

async function soak(db: Database): Promise<void> {
  const startedAt = new Date();
  const loadAverageAtStart = loadavg()[0] ?? 0;
  const rate = optionalNumber(values.rate) ?? 1500;
  const seconds = optionalNumber(values.seconds) ?? 600;
  const run = await fixedRatePhase(db, { via: 'http', rate, seconds, warmupSeconds: 10 });
  const rssInMinute = (samples: FixedRate['ingest'], minute: number) =>
    samples.filter((s) => Math.floor(s.second / 60) === minute).at(-1)?.rssMb;
  const result: SoakResult = {
    startedAt: startedAt.toISOString(),
    mode: 'soak',
    queueType,
    serviceEnv: extraServiceEnv,
    machine: machine(loadAverageAtStart),
    ratePerSecond: rate,
    seconds,
    accepted: run.accepted,
    stored: run.stored,
    warmup: run.load.warmup,
    steady: run.load.steady,
    perMinute: run.load.perMinute.map((m, minute) => ({
      minute,
      requests: m.count,
      failed: m.failed,
      p50Ms: m.p50Ms,
      p99Ms: m.p99Ms,
      maxMs: m.maxMs,
      ingestRssMb: rssInMinute(run.ingest, minute),
      consumerRssMb: rssInMinute(run.consumer, minute),
    })),
    peakRssMb: rss,
  };
  const file = writeResult(startedAt, '-soak', result);
  process.stdout.write(`\n${renderSoak(result)}\nWritten to ${file}\n`);
  if (result.stored < result.accepted) process.exitCode = 1;
}

/**
 * Is the first second's tail the service's cold start or the generator's? One fresh ingest API,
 * the generator run three times in a row against it, each time as a new process: a tail in
 * the first run only is the service's.
 */
async function coldStart(): Promise<void> {
  const rate = plan.fixedRate;
  const seconds = 5;
  log(`cold start: one fresh ingest API, ${rate}/s for ${seconds} s, three times in a row`);
  const ingest = await startIngest(freshTopology('cold'));
  const runs: ColdStartRun[] = [];
  try {
    for (let run = 1; run <= 3; run++) {
      const load = await fixedRateLoad(ingest.url('/webhook'), rate, seconds, 0);
      runs.push({
        run,
        failed: load.failed,
        perSecond: load.perSecond.map((s) => ({
          p50Ms: s.p50Ms,
          p99Ms: s.p99Ms,
          maxMs: s.maxMs,
          lateMaxMs: s.lateMaxMs,
        })),
      });
    }
  } finally {
    await stopServices('cold-start', { ingest });
  }
  const result: ColdStartResult = {
    startedAt: new Date().toISOString(),
    queueType,
    ratePerSecond: rate,
    runs,
  };
  const file = writeResult(new Date(), '-cold-start', result);
  process.stdout.write(`\n${renderColdStart(result)}\nWritten to ${file}\n`);
}

/**
 * The consumer's memory while it drains a full queue: peak RSS (VmHWM), and V8's heap in use and
 * reserved, read from its own `/metrics` twice a second; with `BENCH_NODE_FLAGS` to compare
 * settings.
 */
async function drainMemory(db: Database): Promise<void> {
  log(`drain memory: ${plan.drainMessages} messages pre-filled, then the consumer alone`);
  let heapUsedMaxMb = 0;
  let heapTotalMaxMb = 0;
  const sampleHeap = (consumer: Service) => {
    const timer = setInterval(async () => {
      try {
        const scrape = parsePrometheusText(await (await fetch(consumer.url('/metrics'))).text());
        const mb = (name: string) => Math.round(sumOf(scrape, name) / 2 ** 20);
        heapUsedMaxMb = Math.max(heapUsedMaxMb, mb('nodejs_heap_size_used_bytes'));
        heapTotalMaxMb = Math.max(heapTotalMaxMb, mb('nodejs_heap_size_total_bytes'));
      } catch {
        // a missed sample
      }
    }, 500);
    return () => clearInterval(timer);
  };
  const drained = await drain(db, 'drain-memory', sampleHeap);
  const result = {
    startedAt: new Date().toISOString(),
    queueType,
    nodeFlags: [...startFlags('consumer'), ...extraNodeFlags],
    serviceEnv: extraServiceEnv,
    ...drained,
    rowsPerSecond: Math.round(drained.rowsPerSecond),
    peakRssMb: rssByPhase['drain-memory']?.consumer,
    heapUsedMaxMb,
    heapTotalMaxMb,
  };
  const file = writeResult(new Date(), '-drain-memory', result);
  process.stdout.write(
    `\nDrain memory (${queueType} queue, consumer run with ${result.nodeFlags.join(' ')}${
      Object.keys(extraServiceEnv).length > 0 ? `, ${JSON.stringify(extraServiceEnv)}` : ''
    }): ${result.stored} of ${result.messages} stored at ${result.rowsPerSecond} rows/s; peak RSS ${
      result.peakRssMb
    } MB; V8 heap in use up to ${heapUsedMaxMb} MB, reserved up to ${heapTotalMaxMb} MB.\nWritten to ${file}\n`,
  );
  if (result.stored < result.messages) process.exitCode = 1;
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
  const db = await recreateDatabase();
  const admin = await QueueAdmin.connect(amqpUrls);
  try {
    if (values.soak) await soak(db);
    else if (values['cold-start']) await coldStart();
    else if (values['drain-memory']) await drainMemory(db);
    else await benchmark(db, admin);
  } finally {
    for (const topology of topologies) await admin.deleteTopology(topology).catch(() => {});
    await admin.close();
    await db.close();
  }
}

function log(line: string): void {
  process.stdout.write(`· ${line}\n`);
}

await main();
