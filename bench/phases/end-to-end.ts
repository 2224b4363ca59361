import { retype, storedLatency, waitForRows } from '../lib/event-rows.js';
import { acceptedBy, settledAccepted } from '../lib/ingest-metrics.js';
import { closedLoad } from '../lib/load-generators.js';
import type { Phase } from '../phase.js';
import type { EndToEnd } from '../types.js';

/**
 * The end-to-end curve: the ingest API and the consumer together, one topology and pair of
 * services, one connection count after the other; rows stored per second and receipt-to-stored
 * latency from the table, every 200 stored.
 */
export const endToEndPhase: Phase<EndToEnd[]> = async ({ plan, env, log }) => {
  const { db } = env;
  const topology = env.freshTopology('e2e');
  const consumer = await env.startConsumer(topology);
  const ingest = await env.startIngest(topology);
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
    await env.stopServices('e2e', { ingest, consumer });
  }
};
