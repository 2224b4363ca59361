import { fixedRateLoad } from '../lib/load-generators.js';
import type { Phase } from '../phase.js';
import type { ColdStartResult, ColdStartRun } from '../types.js';

const RUNS = 3;
const SECONDS = 5;

/**
 * `--cold-start`: is the first second's tail the service's cold start or the generator's? One
 * fresh ingest API, the generator run three times in a row against it, each time as a new
 * process: a tail in the first run only is the service's.
 */
export const coldStartPhase: Phase<ColdStartResult> = async ({ plan, env, log }) => {
  const rate = plan.fixedRate;
  log(`cold start: one fresh ingest API, ${rate}/s for ${SECONDS} s, three times in a row`);
  const ingest = await env.startIngest(env.freshTopology('cold'));
  const runs: ColdStartRun[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      const load = await fixedRateLoad(ingest.url('/webhook'), rate, SECONDS, 0);
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
    await env.stopServices('cold-start', { ingest });
  }
  // Stamped when the runs are over, as results of this kind always were.
  return {
    startedAt: new Date().toISOString(),
    queueType: env.queueType,
    ratePerSecond: rate,
    runs,
  };
};
