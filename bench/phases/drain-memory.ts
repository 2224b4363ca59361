import { parsePrometheusText, sumOf } from '../lib/prometheus-text.js';
import type { Service } from '../lib/services.js';
import type { Phase } from '../phase.js';
import type { DrainMemoryResult } from '../types.js';
import { drainPrefilled } from './drain.js';

/**
 * `--drain-memory`: the consumer's memory while it drains a full queue: peak RSS (VmHWM), and
 * V8's heap in use and reserved, read from its own `/metrics` twice a second; with
 * `BENCH_NODE_FLAGS` to compare settings.
 */
export const drainMemoryPhase: Phase<DrainMemoryResult> = async (context) => {
  const { plan, env, log } = context;
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
  // Stamped when the drain is over, as results of this kind always were.
  return {
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
};
