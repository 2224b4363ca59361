import { retype, rowsOf, storedLatency, waitForRows } from '../lib/event-rows.js';
import { settledAccepted } from '../lib/ingest-metrics.js';
import { brokerLoad, fixedRateLoad } from '../lib/load-generators.js';
import { sampleMachine } from '../lib/machine-samples.js';
import type { OpenLoopResult } from '../lib/open-loop.js';
import { sampleEverySecond, serviceSeconds } from '../lib/service-samples.js';
import type { PhaseContext } from '../phase.js';
import type { FixedRate } from '../types.js';

export interface FixedRateOptions {
  /** Through the ingest API, or straight to the broker through `ConfirmPublisher`. */
  via: 'http' | 'broker';
  ratePerSecond: number;
  seconds: number;
  /** The first seconds, reported apart from the steady state. */
  warmupSeconds: number;
}

/**
 * Open-loop load at `ratePerSecond` for `seconds`, through the ingest API (`via: 'http'`) or
 * straight to the broker (`via: 'broker'`), the consumer storing; both services and the machine
 * sampled once a second.
 */
export async function runFixedRate(
  { env, log }: PhaseContext,
  options: FixedRateOptions,
): Promise<FixedRate> {
  const { db } = env;
  const { via, ratePerSecond: rate, seconds, warmupSeconds } = options;
  const phase = via === 'http' ? 'fixed' : 'broker-fixed';
  log(
    `${phase}: ${rate}/s for ${seconds} s ${via === 'http' ? 'through the ingest API' : 'straight to the broker'}, consumer storing`,
  );
  const topology = env.freshTopology(phase);
  const consumer = await env.startConsumer(topology);
  const ingest = via === 'http' ? await env.startIngest(topology) : undefined;
  let stopped = false;
  try {
    const machineSamples = sampleMachine();
    const consumerSamples = sampleEverySecond(consumer.url('/metrics'));
    const ingestSamples =
      ingest === undefined ? undefined : sampleEverySecond(ingest.url('/metrics'));
    const load =
      ingest === undefined
        ? await brokerLoad<OpenLoopResult>(env.amqpUrls, {
            topology: env.topologyOptions(phase),
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
    await env.stopServices(phase, { ...(ingest ? { ingest } : {}), consumer });
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
    if (!stopped) await env.stopServices(phase, { ...(ingest ? { ingest } : {}), consumer });
  }
}

const planned = ({ plan }: PhaseContext, ratePerSecond: number) => ({
  ratePerSecond,
  seconds: plan.fixedSeconds,
  warmupSeconds: plan.warmupSeconds,
});

/**
 * The broker alone at `ratePerSecond` (see `fixedRateFor`), consumer storing: its own tail, to
 * compare with the HTTP phase's. Not in the plan of --quick.
 */
export const brokerFixedRatePhase = async (
  context: PhaseContext,
  ratePerSecond: number,
): Promise<FixedRate | undefined> =>
  context.plan.brokerFixedRate
    ? runFixedRate(context, { via: 'broker', ...planned(context, ratePerSecond) })
    : undefined;

/**
 * Ingest API and consumer at `ratePerSecond` (see `fixedRateFor`), open loop, so a stall cannot
 * hide.
 */
export const fixedRatePhase = (context: PhaseContext, ratePerSecond: number): Promise<FixedRate> =>
  runFixedRate(context, { via: 'http', ...planned(context, ratePerSecond) });
