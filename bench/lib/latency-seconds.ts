/**
 * Latencies grouped by the second of the run they were scheduled in, so a phase reports its
 * tail second by second (where a stall is, and whether it is the warm-up) and not only as one
 * figure for the whole phase.
 */
export interface LatencySummary {
  count: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export class LatencySeconds {
  readonly #latencies: number[][] = [];
  readonly #failed: number[] = [];

  record(second: number, latencyMs: number, ok: boolean): void {
    const inSecond = this.#latencies[second] ?? [];
    inSecond.push(latencyMs);
    this.#latencies[second] = inSecond;
    if (!ok) this.#failed[second] = (this.#failed[second] ?? 0) + 1;
  }

  get seconds(): number {
    return this.#latencies.length;
  }

  /** Seconds `[from, to)` taken together. */
  summary(from = 0, to = this.#latencies.length): LatencySummary {
    const all: number[] = [];
    let failed = 0;
    for (let s = from; s < to; s++) {
      for (const value of this.#latencies[s] ?? []) all.push(value);
      failed += this.#failed[s] ?? 0;
    }
    return summarise(all, failed);
  }

  /** One summary per second. */
  perSecond(): LatencySummary[] {
    return Array.from({ length: this.#latencies.length }, (_, s) => this.summary(s, s + 1));
  }
}

export function summarise(values: number[], failed = 0): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) =>
    sorted.length === 0
      ? 0
      : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return {
    count: sorted.length,
    failed,
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    p999Ms: round(at(0.999)),
    maxMs: round(sorted.at(-1) ?? 0),
  };
}

export const round = (value: number, digits = 2) => Number(value.toFixed(digits));
