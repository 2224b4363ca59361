import { monitorEventLoopDelay } from 'node:perf_hooks';
import { round } from './latency-seconds.js';

/**
 * A load generator's own event-loop delay, second by second: when the generator stalls, the
 * requests it should have sent meanwhile leave late and their latency (counted from the
 * schedule) includes the stall. This tells that tail apart from the server's.
 */
export interface OwnLagSecond {
  p99Ms: number;
  maxMs: number;
  /** CPU the generator used in this second, % of one core. */
  cpuPercent: number;
}

export function ownLagPerSecond(): { next(): OwnLagSecond; stop(): void } {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  let cpu = process.cpuUsage();
  let at = performance.now();
  return {
    next() {
      const used = process.cpuUsage(cpu);
      const now = performance.now();
      const second = {
        p99Ms: round(histogram.percentile(99) / 1e6),
        maxMs: round(histogram.max / 1e6),
        cpuPercent: Math.round((used.user + used.system) / 10 / Math.max(1, now - at)),
      };
      histogram.reset();
      cpu = process.cpuUsage();
      at = now;
      return second;
    },
    stop: () => histogram.disable(),
  };
}
