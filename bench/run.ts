import { checkTargets } from './checks.js';
import { BenchEnvironment } from './lib/environment.js';
import { parseFlags, planFor } from './lib/flags.js';
import { loadAverageNow, machineOf, writeResult } from './lib/result-file.js';
import type { PhaseContext } from './phase.js';
import { bareHttpPhase } from './phases/bare-http.js';
import { brokerCeilingPhase } from './phases/broker-ceiling.js';
import { coldStartPhase } from './phases/cold-start.js';
import { drainPhase } from './phases/drain.js';
import { drainMemoryPhase } from './phases/drain-memory.js';
import { endToEndPhase } from './phases/end-to-end.js';
import { brokerFixedRatePhase, fixedRatePhase } from './phases/fixed-rate.js';
import { ingestPhase } from './phases/ingest.js';
import { largeBodiesPhase } from './phases/large-bodies.js';
import { soakPhase } from './phases/soak.js';
import { renderColdStart, renderDrainMemory, renderReport, renderSoak } from './report.js';
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

async function drainMemory(context: PhaseContext): Promise<void> {
  const result = await drainMemoryPhase(context);
  const file = writeResult(new Date(result.startedAt), '-drain-memory', result);
  process.stdout.write(`\n${renderDrainMemory(result)}\nWritten to ${file}\n`);
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
