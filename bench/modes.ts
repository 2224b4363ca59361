import { checkColdStart, checkDeliveryOutage, checkTargets } from './checks.js';
import {
  bestEndToEnd,
  composedLimit,
  cpuMicrosPer,
  fixedRateFor,
  scaledPlan,
} from './lib/capacity.js';
import type { BenchFlags } from './lib/flags.js';
import { classicQueueFormat } from './lib/queue-storage.js';
import { loadAverageNow, machineOf } from './lib/result-file.js';
import type { PhaseContext } from './phase.js';
import { bareHttpAtRatePhase, bareHttpPhase } from './phases/bare-http.js';
import { brokerCeilingPhase } from './phases/broker-ceiling.js';
import { coldStartPhase } from './phases/cold-start.js';
import { deliveryPhase } from './phases/delivery.js';
import { deliveryOutagePhase } from './phases/delivery-outage.js';
import { drainPhase } from './phases/drain.js';
import { drainMemoryPhase } from './phases/drain-memory.js';
import { endToEndPhase } from './phases/end-to-end.js';
import { brokerFixedRatePhase, fixedRatePhase } from './phases/fixed-rate.js';
import { ingestPhase } from './phases/ingest.js';
import { largeBodiesPhase } from './phases/large-bodies.js';
import { soakPhase } from './phases/soak.js';
import {
  renderColdStart,
  renderDeliveryOutage,
  renderDrainMemory,
  renderReport,
  renderSoak,
} from './report.js';
import type { BenchResult, Capacity, EndToEnd } from './types.js';

/** What a mode of `pnpm bench` hands back to be written and printed. */
export interface ModeReport {
  /** Written to bench/results/<startedAt><suffix>.json. */
  result: { startedAt: string };
  suffix: string;
  /** Printed once the run is over. */
  text: string;
  /** Gates that failed, printed after the text. */
  failedGates: string[];
  /** The process exits with 1: events lost, or a gate failed. */
  failed: boolean;
}

/** The phases a mode runs, in order, and what it makes of their results. */
export type Mode = (context: PhaseContext) => Promise<ModeReport>;

/** The default: every phase of the benchmark in one run, checked against the targets. */
const benchmark: Mode = async (context) => {
  const { flags, env } = context;
  const startedAt = new Date();
  const loadAverageAtStart = loadAverageNow();
  const ceiling = await bareHttpPhase(context);
  const brokerCeiling = await brokerCeilingPhase(context);
  const ingest = await ingestPhase(context);
  // Named in the report: the broker's two classic formats differ in their confirm tail.
  const classicFormat =
    env.queueType === 'classic'
      ? await classicQueueFormat({
          amqpUrl: env.amqpUrls[0] ?? '',
          queue: env.topologyOptions('broker').queue,
        })
      : undefined;
  const ceilingAtIngestRate = await bareHttpAtRatePhase(context, ingest.requestsPerSecond);
  const endToEndCurve = await endToEndPhase(context);
  const best = bestEndToEnd(endToEndCurve);
  // The phases sized by a count shrink on a slower machine, so that the run keeps to its time.
  const plan = scaledPlan(context.plan, best.persistedPerSecond);
  const scaled = { ...context, plan };
  const drain = await drainPhase(scaled);
  const capacity = capacityOf({ ceiling, brokerCeiling, drain, best });
  // Half of what this run measured, so that the load is the same share of capacity anywhere.
  const fixedRatePerSecond = fixedRateFor({
    given: plan.fixedRate,
    endToEndPerSecond: best.persistedPerSecond,
  });
  const brokerFixedRate = await brokerFixedRatePhase(context, fixedRatePerSecond);
  const fixedRate = await fixedRatePhase(context, fixedRatePerSecond);
  const largeBodies = await largeBodiesPhase(context);
  const endToEnd = endToEndCurve.at(-1);
  if (endToEnd === undefined) throw new Error('no end-to-end level ran');
  // Last: its subscriptions and deliveries are not in the tables while the others run.
  const delivery = await deliveryPhase(scaled, {
    endToEndPerSecond: best.persistedPerSecond,
  });

  const result: BenchResult = {
    startedAt: startedAt.toISOString(),
    mode: flags.quick ? 'quick' : 'full',
    queueType: env.queueType,
    brokerNodes: env.amqpUrls.length,
    ...(env.queueType === 'classic' ? { classicQueueFormat: classicFormat ?? null } : {}),
    serviceEnv: env.serviceEnv,
    machine: machineOf(loadAverageAtStart),
    plan,
    ceiling,
    ceilingAtIngestRate,
    brokerCeiling,
    ingest,
    endToEnd,
    endToEndCurve,
    drain,
    capacity,
    cpuPerRequest: {
      ingestMicros: cpuMicrosPer({
        percent: ingest.cpu?.processes.server,
        seconds: ingest.cpu?.seconds ?? 0,
        count: ingest.accepted,
      }),
      bareHttpMicros: cpuMicrosPer({
        percent: ceiling.cpu?.processes.server,
        seconds: ceiling.cpu?.seconds ?? 0,
        count: ceiling.ok,
      }),
      bareHttpAtIngestRateMicros: cpuMicrosPer({
        percent: ceilingAtIngestRate.cpu?.processes.server,
        seconds: ceilingAtIngestRate.cpu?.seconds ?? 0,
        count: ceilingAtIngestRate.ok,
      }),
    },
    fixedRatePerSecond,
    brokerFixedRate,
    fixedRate,
    largeBodies,
    delivery,
    peakRssMb: env.peakRssMb,
    peakRssByPhase: env.peakRssByPhase,
  };
  const checks = checkTargets(result);
  // --quick gates CI on ratios and loss only; absolute figures depend on the machine.
  const failedGates = flags.quick ? checks.filter((c) => c.gate && !c.pass).map((c) => c.name) : [];
  return {
    result: { ...result, checks },
    suffix: `${flags.quick ? '-quick' : ''}${flags.cluster ? '-cluster' : ''}`,
    text: renderReport(result, checks),
    failedGates,
    failed: failedGates.length > 0,
  };
};

/** The run's three limits, what they allow together, and end to end's share of it. */
export function capacityOf(measured: {
  ceiling: BenchResult['ceiling'];
  brokerCeiling: BenchResult['brokerCeiling'];
  drain: BenchResult['drain'];
  best: EndToEnd;
}): Capacity {
  const limits = {
    bareHttpPerSecond: measured.ceiling.requestsPerSecond,
    brokerPerSecond: measured.brokerCeiling.publishesPerSecond,
    drainPerSecond: measured.drain.rowsPerSecond,
  };
  const composed = composedLimit(limits);
  return {
    ...limits,
    composedLimitPerSecond: Math.round(composed),
    endToEndPerSecond: Math.round(measured.best.persistedPerSecond),
    endToEndConnections: measured.best.connections,
    endToEndShare: composed > 0 ? measured.best.persistedPerSecond / composed : 0,
  };
}

const soak: Mode = async (context) => {
  const result = await soakPhase(context);
  return {
    result,
    suffix: '-soak',
    text: renderSoak(result),
    failedGates: [],
    failed: result.stored < result.accepted,
  };
};

const coldStart: Mode = async (context) => {
  const result = await coldStartPhase(context);
  const checks = checkColdStart(result);
  return {
    result: { ...result, checks },
    suffix: '-cold-start',
    text: renderColdStart(result, checks),
    failedGates: [],
    failed: false,
  };
};

const drainMemory: Mode = async (context) => {
  const result = await drainMemoryPhase(context);
  return {
    result,
    suffix: '-drain-memory',
    text: renderDrainMemory(result),
    failedGates: [],
    failed: result.stored < result.messages,
  };
};

const deliveryOutage: Mode = async (context) => {
  const result = await deliveryOutagePhase(context);
  const checks = checkDeliveryOutage(result);
  const failedGates = checks.filter((c) => c.gate && !c.pass).map((c) => c.name);
  return {
    result: { ...result, checks },
    suffix: '-delivery-outage',
    text: renderDeliveryOutage(result, checks),
    failedGates,
    failed: failedGates.length > 0,
  };
};

/**
 * `--soak`, `--cold-start`, `--drain-memory` and `--delivery-outage` each run alone; otherwise
 * the benchmark.
 */
export function modeFor(flags: BenchFlags): Mode {
  if (flags.soak) return soak;
  if (flags.coldStart) return coldStart;
  if (flags.drainMemory) return drainMemory;
  if (flags.deliveryOutage) return deliveryOutage;
  return benchmark;
}
