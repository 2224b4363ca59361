import { type FailureGroup, FailureLog } from './failures.js';
import { LatencySeconds, type LatencySummary, round } from './latency-seconds.js';
import { type OwnLagSecond, ownLagPerSecond } from './own-lag.js';

export interface OpenLoopOptions {
  ratePerSecond: number;
  seconds: number;
  /** The first seconds, reported apart from the steady state (connections, JIT, caches). */
  warmupSeconds: number;
  /**
   * Sends one operation; resolves `undefined` when it succeeded, otherwise what failed
   * (`status 503`, `error ECONNRESET`). Never rejects.
   */
  send: () => Promise<string | undefined>;
}

/** What an open-loop run measured; the same shape for HTTP and for the broker alone. */
export interface OpenLoopResult {
  /** Epoch ms of the first scheduled send, to line up with the services' own samples. */
  startedAtMs: number;
  requested: number;
  ok: number;
  failed: number;
  /** The failures by reason, most frequent first (absent in results written before it existed). */
  failures?: FailureGroup[];
  achievedPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  warmup: LatencySummary;
  steady: LatencySummary;
  /** Latency by scheduled minute (a soak's p99 over time). */
  perMinute: LatencySummary[];
  /** Latency by scheduled second, with the generator's own event-loop delay and lateness. */
  perSecond: Array<LatencySummary & { ownLag: OwnLagSecond; lateMaxMs: number }>;
  /**
   * HTTP only: connections the generator opened by second, and the longest any took to
   * connect (absent in results written before it was counted).
   */
  connects?: Array<{ opened: number; maxMs: number }>;
}

/**
 * Open-loop load: operations leave on schedule whether or not earlier ones finished, and
 * latency counts from the scheduled time, so a stall shows up as latency instead of silently
 * lowering the rate (no coordinated omission).
 */
export function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { ratePerSecond, send } = options;
  const total = Math.round(ratePerSecond * options.seconds);
  const latencies = new LatencySeconds();
  const ownLag: OwnLagSecond[] = [];
  const lateMaxMs: number[] = [];
  const failures = new FailureLog();
  const lag = ownLagPerSecond();
  const lagTimer = setInterval(() => ownLag.push(lag.next()), 1000);
  const startedAtMs = Date.now();
  const started = performance.now();
  let sent = 0;
  let done = 0;
  let ok = 0;

  return new Promise((resolve) => {
    const finishOne = (scheduledAt: number, second: number, failure: string | undefined) => {
      latencies.record(second, performance.now() - scheduledAt, failure === undefined);
      if (failure === undefined) ok += 1;
      else failures.record(failure, second);
      done += 1;
      if (done < total) return;
      clearInterval(lagTimer);
      ownLag.push(lag.next());
      lag.stop();
      const elapsedSeconds = (performance.now() - started) / 1000;
      const overall = latencies.summary();
      const warmupEnd = Math.min(options.warmupSeconds, latencies.seconds);
      resolve({
        startedAtMs,
        requested: total,
        ok,
        failed: total - ok,
        failures: failures.groups(),
        achievedPerSecond: round(total / elapsedSeconds, 1),
        latencyP50Ms: overall.p50Ms,
        latencyP99Ms: overall.p99Ms,
        latencyMaxMs: overall.maxMs,
        warmup: latencies.summary(0, warmupEnd),
        steady: latencies.summary(warmupEnd),
        perMinute: Array.from({ length: Math.ceil(latencies.seconds / 60) }, (_, m) =>
          latencies.summary(m * 60, Math.min(latencies.seconds, (m + 1) * 60)),
        ),
        perSecond: latencies.perSecond().map((summary, s) => ({
          ...summary,
          ownLag: ownLag[s] ?? { p99Ms: 0, maxMs: 0, cpuPercent: 0 },
          lateMaxMs: round(lateMaxMs[s] ?? 0),
        })),
      });
    };

    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - started) / 1000) * ratePerSecond));
      for (; sent < due; sent++) {
        const scheduledAt = started + (sent / ratePerSecond) * 1000;
        const second = Math.floor(sent / ratePerSecond);
        lateMaxMs[second] = Math.max(lateMaxMs[second] ?? 0, now - scheduledAt);
        void send().then((failure) => finishOne(scheduledAt, second, failure));
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}
