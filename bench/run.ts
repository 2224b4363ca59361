import { checkTargets } from './checks.js';
import { BenchEnvironment } from './lib/environment.js';
import { parseFlags, planFor } from './lib/flags.js';
import { parsePrometheusText, sumOf } from './lib/prometheus-text.js';
import { loadAverageNow, machineOf, writeResult } from './lib/result-file.js';
import type { Service } from './lib/services.js';
import type { PhaseContext } from './phase.js';
import { bareHttpPhase } from './phases/bare-http.js';
import { brokerCeilingPhase } from './phases/broker-ceiling.js';
import { coldStartPhase } from './phases/cold-start.js';
import { drainPhase, drainPrefilled } from './phases/drain.js';
import { endToEndPhase } from './phases/end-to-end.js';
import { brokerFixedRatePhase, fixedRatePhase } from './phases/fixed-rate.js';
import { ingestPhase } from './phases/ingest.js';
import { largeBodiesPhase } from './phases/large-bodies.js';
import { soakPhase } from './phases/soak.js';
import { renderColdStart, renderReport, renderSoak } from './report.js';
import type { BenchResult } from './types.js';

// `pnpm bench [--quick | --soak] [--cluster]`: measures the pipeline on this machine, every phase
// in one run, and writes bench/results/<timestamp>.json. See docs/performance.md for what each
// phase means. `--cluster` starts three RabbitMQ nodes of the installed rabbitmq-server beside the
// machine's own (the test suite's helper) and gives the services all three, with quorum queues;
// `BENCH_AMQP_URL` may also list the nodes of a running cluster, comma-separated.
const flags = parseFlags(process.argv.slice(2));
const plan = planFor(flags);

async function benchmark(context: PhaseContext): Promise<void> {
  const { env } = context;
  const startedAt = new Date();
  const loadAverageAtStart = loadAverageNow();
  const ceiling = await bareHttpPhase(context);
  const brokerCeiling = await brokerCeilingPhase(context);
  const ingest = await ingestPhase(context);
  const endToEndCurve = await endToEndPhase(context);
  const drain = await drainPhase(context);
  const brokerFixedRate = await brokerFixedRatePhase(context);
  const fixedRate = await fixedRatePhase(context);
  const largeBodies = await largeBodiesPhase(context);
  const endToEnd = endToEndCurve.at(-1);
  if (endToEnd === undefined) throw new Error('no end-to-end level ran');

  const result: BenchResult = {
    startedAt: startedAt.toISOString(),
    mode: flags.quick ? 'quick' : 'full',
    queueType: env.queueType,
    brokerNodes: env.amqpUrls.length,
    serviceEnv: env.serviceEnv,
    machine: machineOf(loadAverageAtStart),
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
    peakRssMb: env.peakRssMb,
    peakRssByPhase: env.peakRssByPhase,
  };
  const checks = checkTargets(result);
  const suffix = `${flags.quick ? '-quick' : ''}${flags.cluster ? '-cluster' : ''}`;
  const file = writeResult(startedAt, suffix, { ...result, checks });
  process.stdout.write(`\n${renderReport(result, checks)}\nWritten to ${file}\n`);

  // --quick gates CI on ratios and loss only; absolute figures depend on the machine.
  const gating = checks.filter((c) => c.gate && !c.pass);
  if (flags.quick && gating.length > 0) {
    process.stdout.write(`\nFAILED: ${gating.map((c) => c.name).join('; ')}\n`);
    process.exitCode = 1;
  }
}

async function soak(context: PhaseContext): Promise<void> {
  const result = await soakPhase(context);
  const file = writeResult(new Date(result.startedAt), '-soak', result);
  process.stdout.write(`\n${renderSoak(result)}\nWritten to ${file}\n`);
  if (result.stored < result.accepted) process.exitCode = 1;
}

async function coldStart(context: PhaseContext): Promise<void> {
  const result = await coldStartPhase(context);
  const file = writeResult(new Date(result.startedAt), '-cold-start', result);
  process.stdout.write(`\n${renderColdStart(result)}\nWritten to ${file}\n`);
}

/**
 * The consumer's memory while it drains a full queue: peak RSS (VmHWM), and V8's heap in use and
 * reserved, read from its own `/metrics` twice a second; with `BENCH_NODE_FLAGS` to compare
 * settings.
 */
async function drainMemory(context: PhaseContext): Promise<void> {
  const { env } = context;
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
  const drained = await drainPrefilled(context, { phase: 'drain-memory', watch: sampleHeap });
  const result = {
    startedAt: new Date().toISOString(),
    queueType: env.queueType,
    nodeFlags: env.nodeFlagsOf('consumer'),
    serviceEnv: env.serviceEnv,
    ...drained,
    rowsPerSecond: Math.round(drained.rowsPerSecond),
    peakRssMb: env.peakRssByPhase['drain-memory']?.consumer,
    heapUsedMaxMb,
    heapTotalMaxMb,
  };
  const file = writeResult(new Date(), '-drain-memory', result);
  process.stdout.write(
    `\nDrain memory (${env.queueType} queue, consumer run with ${result.nodeFlags.join(' ')}${
      Object.keys(env.serviceEnv).length > 0 ? `, ${JSON.stringify(env.serviceEnv)}` : ''
    }): ${result.stored} of ${result.messages} stored at ${result.rowsPerSecond} rows/s; peak RSS ${
      result.peakRssMb
    } MB; V8 heap in use up to ${heapUsedMaxMb} MB, reserved up to ${heapTotalMaxMb} MB.\nWritten to ${file}\n`,
  );
  if (result.stored < result.messages) process.exitCode = 1;
}

function log(line: string): void {
  process.stdout.write(`· ${line}\n`);
}

const env = await BenchEnvironment.start({
  queueType: flags.queueType,
  amqpUrls: (process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672')
    .split(',')
    .map((url) => url.trim())
    .filter((url) => url !== ''),
  databaseUrl:
    process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/webhooks_bench',
  cluster: flags.cluster,
  profile: flags.profile,
  /** Extra settings for both services, as JSON (`BENCH_SERVICE_ENV='{"BATCH_SIZE":"1000"}'`). */
  serviceEnv: JSON.parse(process.env.BENCH_SERVICE_ENV ?? '{}') as Record<string, string>,
  /**
   * Node flags added after the `start` script's own (`BENCH_NODE_FLAGS='--max-old-space-size=4096'`;
   * for V8 the last occurrence of a flag wins), to compare settings.
   */
  extraNodeFlags: (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f !== ''),
  log,
});
try {
  const context: PhaseContext = { flags, plan, env, log };
  if (flags.soak) await soak(context);
  else if (flags.coldStart) await coldStart(context);
  else if (flags.drainMemory) await drainMemory(context);
  else await benchmark(context);
} finally {
  await env.close();
}
