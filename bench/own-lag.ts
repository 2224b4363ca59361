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
}

export function ownLagPerSecond(): { next(): OwnLagSecond; stop(): void } {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  return {
    next() {
      const second = {
        p99Ms: round(histogram.percentile(99) / 1e6),
        maxMs: round(histogram.max / 1e6),
      };
      histogram.reset();
      return second;
    },
    stop: () => histogram.disable(),
  };
}
