import { serverTimeOf, settledAccepted } from '../lib/ingest-metrics.js';
import { closedLoad } from '../lib/load-generators.js';
import { measureCpu } from '../lib/machine-samples.js';
import type { Phase } from '../phase.js';
import type { BenchResult } from '../types.js';

/**
 * The ingest API alone, with publisher confirms, the consumer stopped: closed load, where the
 * CPU went, the API's own account of a request's time, and every 200 in the queue.
 */
export const ingestPhase: Phase<BenchResult['ingest']> = async ({ plan, env, log }) => {
  log(`ingest: API with publisher confirms, consumer stopped, ${plan.loadSeconds} s`);
  const topology = env.freshTopology('ingest');
  const ingest = await env.startIngest(topology);
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
      queued: await env.admin.count(topology.queue),
    };
  } finally {
    await env.stopServices('ingest', { ingest });
  }
};
