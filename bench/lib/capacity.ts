import type { EndToEnd, Plan } from '../types.js';
import type { CpuShare } from './machine-samples.js';

/**
 * What the machine allows the whole pipeline, events/s, from three limits measured in the same
 * run: the bare HTTP server (parsing a request and answering), the broker's confirmed publishes
 * and the consumer's drain. Every event pays all three on the same cores, so their times add:
 * 1 / (1/bare HTTP + 1/broker ceiling + 1/drain). Zero when one of them was not measured.
 */
export function composedLimit(limits: {
  bareHttpPerSecond: number;
  brokerPerSecond: number;
  drainPerSecond: number;
}): number {
  const rates = [limits.bareHttpPerSecond, limits.brokerPerSecond, limits.drainPerSecond];
  if (rates.some((rate) => !(rate > 0))) return 0;
  return 1 / rates.reduce((sum, rate) => sum + 1 / rate, 0);
}

/** The end-to-end level that stored the most per second (the curve's 64/128/256 connections). */
export function bestEndToEnd(curve: EndToEnd[]): EndToEnd {
  const best = curve.reduce<EndToEnd | undefined>(
    (top, level) =>
      top === undefined || level.persistedPerSecond > top.persistedPerSecond ? level : top,
    undefined,
  );
  if (best === undefined) throw new Error('no end-to-end level ran');
  return best;
}

/**
 * The fixed-rate phases' requests per second: `--rate` when given (to compare with runs that
 * used it), otherwise half of what the same run stored end to end, so that the load is the same
 * share of capacity on any machine.
 */
export function fixedRateFor(options: {
  given: number | undefined;
  endToEndPerSecond: number;
}): number {
  if (options.given !== undefined) return options.given;
  return Math.max(1, Math.round(options.endToEndPerSecond / 2));
}

/**
 * CPU time per operation, µs, from a process's average share of one core (%) over `seconds`:
 * share × seconds is CPU seconds × 100.
 */
export function cpuMicrosPer(options: {
  percent: number | undefined;
  seconds: number;
  count: number;
}): number | undefined {
  const { percent, seconds, count } = options;
  if (percent === undefined || count <= 0) return undefined;
  return Math.round((percent * seconds * 10_000) / count);
}

/**
 * Seconds of end-to-end work that the phases sized by a count (not a duration) are given: the
 * drain's pre-filled messages and each delivery backlog's events. On the machine of the runs of
 * record these leave the planned counts as they are; on a slower one the counts shrink with the
 * measured rate, so that the run keeps to its time.
 */
export const DRAIN_SECONDS_OF_END_TO_END = 20;
export const DELIVERY_SECONDS_OF_END_TO_END = 6;
/** Below these a phase would measure too little to mean anything. */
const MIN_DRAIN_MESSAGES = 10_000;
const MIN_DELIVERY_EVENTS = 2000;

/**
 * The plan with its count-sized phases scaled to `endToEndPerSecond` of the same run: each at
 * most what was planned, at least its minimum (or the planned count, if smaller).
 */
export function scaledPlan(plan: Plan, endToEndPerSecond: number): Plan {
  if (!(endToEndPerSecond > 0)) return plan;
  const scale = (planned: number, seconds: number, minimum: number) =>
    Math.min(planned, Math.max(minimum, Math.round(endToEndPerSecond * seconds)));
  return {
    ...plan,
    drainMessages: scale(plan.drainMessages, DRAIN_SECONDS_OF_END_TO_END, MIN_DRAIN_MESSAGES),
    deliveryEvents: scale(plan.deliveryEvents, DELIVERY_SECONDS_OF_END_TO_END, MIN_DELIVERY_EVENTS),
  };
}

/** The share of the broker ceiling the ingest API is asked to reach (docs/performance.md). */
export const INGEST_BROKER_TARGET = 0.6;

/**
 * What the ingest target would cost this machine: the CPU of one accepted request in the ingest
 * phase, split into the API's own, RabbitMQ's and the rest of the machine's (the load
 * generator, the kernel), all on the same cores; and that sum at `targetPerSecond`.
 */
export interface IngestCpuBudget {
  targetPerSecond: number;
  apiMicros: number;
  rabbitmqMicros: number;
  restMicros: number;
  /** CPU the target rate takes at those costs, % of one core. */
  neededPercent: number;
  /** Of which the API's own: one process, so it fits only within one core (100 %). */
  apiPercent: number;
  /** The machine's cores × 100. */
  availablePercent: number;
  /** The most the API may spend on a request for the target to fit, µs (≤ 0: nothing fits). */
  apiMicrosThatFit: number;
}

/**
 * Whether the ingest phase's costs per request fit `targetPerSecond` into `cores`. The costs
 * per request fall a little as the rate rises (each wake-up serves more), so this estimates
 * from the rate the phase reached; undefined when /proc gave no figures.
 */
export function ingestCpuBudget(options: {
  cpu: CpuShare | undefined;
  accepted: number;
  targetPerSecond: number;
  cores: number;
}): IngestCpuBudget | undefined {
  const { cpu, accepted, targetPerSecond, cores } = options;
  const api = cpu?.processes.server;
  if (cpu === undefined || api === undefined || accepted <= 0 || !(targetPerSecond > 0)) {
    return undefined;
  }
  const micros = (percent: number) =>
    cpuMicrosPer({ percent, seconds: cpu.seconds, count: accepted }) ?? 0;
  const apiMicros = micros(api);
  const rabbitmqMicros = micros(cpu.rabbitmqPercent);
  const restMicros = micros(Math.max(0, cpu.busyPercent - api - cpu.rabbitmqPercent));
  const availablePercent = cores * 100;
  // µs per request × requests per second = µs of CPU per second; ÷ 10,000 = % of one core.
  const percentAt = (perRequestMicros: number) => (targetPerSecond * perRequestMicros) / 10_000;
  return {
    targetPerSecond,
    apiMicros,
    rabbitmqMicros,
    restMicros,
    neededPercent: percentAt(apiMicros + rabbitmqMicros + restMicros),
    apiPercent: percentAt(apiMicros),
    availablePercent,
    apiMicrosThatFit: (availablePercent * 10_000) / targetPerSecond - rabbitmqMicros - restMicros,
  };
}
