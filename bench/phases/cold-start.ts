import { fixedRateLoad } from '../lib/load-generators.js';
import type { Service } from '../lib/services.js';
import type { Phase } from '../phase.js';
import type { ColdStartResult, ColdStartRun } from '../types.js';
import { endToEndPhase } from './end-to-end.js';

const RUNS = 3;
const SECONDS = 5;
/** The short end-to-end run that finds the rate without `--rate`. */
const CAPACITY_CONNECTIONS = 128;
const CAPACITY_SECONDS = 5;

/**
 * `--cold-start`: is the first second's tail the service's cold start or the generator's? One
 * fresh ingest API, the generator run three times in a row against it, each time as a new
 * process: a tail in the first run only is the service's. A consumer stores the events meanwhile,
 * as in production and in the full run's fixed-rate phase, already warm (another API fed it for
 * one run first): alone on the machine a cold API kept up, beside a working consumer it did not.
 * The rate is `--rate`, or half of what a short end-to-end run on other services stored just
 * before.
 */
export const coldStartPhase: Phase<ColdStartResult> = async (context) => {
  const { plan, env, log } = context;
  let endToEndPerSecond: number | undefined;
  if (plan.fixedRate === undefined) {
    const [level] = await endToEndPhase({
      ...context,
      plan: { ...plan, e2eConnections: [CAPACITY_CONNECTIONS], e2eSeconds: CAPACITY_SECONDS },
    });
    endToEndPerSecond = Math.round(level?.persistedPerSecond ?? 0);
  }
  const rate = plan.fixedRate ?? Math.max(1, Math.round((endToEndPerSecond ?? 0) / 2));
  log(
    `cold start: one fresh ingest API, ${rate}/s for ${SECONDS} s, three times in a row, beside a warm consumer`,
  );
  const topology = env.freshTopology('cold');
  const consumer = await env.startConsumer(topology);
  let ingest: Service | undefined;
  const runs: ColdStartRun[] = [];
  try {
    const warmingConsumer = await env.startIngest(topology);
    try {
      await fixedRateLoad(warmingConsumer.url('/webhook'), rate, SECONDS, 0);
    } finally {
      await env.stopServices('cold-start-consumer-warm-up', { ingest: warmingConsumer });
    }
    ingest = await env.startIngest(topology);
    for (let run = 1; run <= RUNS; run++) {
      const load = await fixedRateLoad(ingest.url('/webhook'), rate, SECONDS, 0);
      runs.push({
        run,
        failed: load.failed,
        failures: load.failures ?? [],
        p99Ms: load.latencyP99Ms,
        perSecond: load.perSecond.map((s) => ({
          p50Ms: s.p50Ms,
          p99Ms: s.p99Ms,
          maxMs: s.maxMs,
          lateMaxMs: s.lateMaxMs,
        })),
      });
    }
  } finally {
    await env.stopServices('cold-start', { ...(ingest ? { ingest } : {}), consumer });
  }
  // Stamped when the runs are over, as results of this kind always were.
  return {
    startedAt: new Date().toISOString(),
    queueType: env.queueType,
    ratePerSecond: rate,
    withConsumer: true,
    ...(endToEndPerSecond === undefined ? {} : { endToEndPerSecond }),
    runs,
  };
};
