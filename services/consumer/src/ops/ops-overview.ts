import type { DeadLettersRepository, EventsRepository } from '@webhooks/db';
import type { Topology } from '@webhooks/queue';
import type { Histogram } from 'prom-client';

const HOUR_MS = 60 * 60 * 1000;

export interface OverviewDeps {
  events: Pick<EventsRepository, 'countBySourceAndType'>;
  deadLetters: Pick<DeadLettersRepository, 'countSince' | 'oldestWaiting'>;
  topology: Topology;
  /** Ready messages per queue; a queue missing from the map is unknown (broker away). */
  queueDepths: () => Promise<ReadonlyMap<string, number>>;
  circuitOpen: () => boolean;
  /** Receipt by the ingest API → stored, in seconds. */
  lag: Histogram;
  now?: () => Date;
}

export interface Overview {
  generatedAt: string;
  windowStart: string;
  /** Per source over the window: stored, and dead-lettered (what reached this consumer). */
  sources: Array<{ source: string; stored: number; deadLettered: number }>;
  /** Dead-lettered over the window, by reason. */
  deadLetteredByReason: Array<{ reason: string; count: number }>;
  queues: { main: number | null; retry: number | null; deadLetter: number | null };
  oldestDeadLetter: { deadLetteredAt: string; ageSeconds: number } | null;
  /** Messages waiting in the main queue: how far consumption is behind. */
  lagMessages: number | null;
  /** Since this process started; null before the first event is stored. */
  receiptToStoredSeconds: { p50: number; p99: number; count: number } | null;
  databaseCircuit: 'closed' | 'open';
}

/** The console's overview, from the database, the broker and this process's metrics. */
export function createOverview(deps: OverviewDeps): () => Promise<Overview> {
  return async () => {
    const now = (deps.now ?? (() => new Date()))();
    const since = new Date(now.getTime() - HOUR_MS);
    const [counts, dead, oldest, depths, lag] = await Promise.all([
      deps.events.countBySourceAndType({ from: since.toISOString(), to: now.toISOString() }),
      deps.deadLetters.countSince(since),
      deps.deadLetters.oldestWaiting(),
      deps.queueDepths(),
      deps.lag.get(),
    ]);
    const sources = new Map<string, { stored: number; deadLettered: number }>();
    const entry = (source: string) => {
      let found = sources.get(source);
      if (found === undefined) {
        found = { stored: 0, deadLettered: 0 };
        sources.set(source, found);
      }
      return found;
    };
    for (const c of counts) entry(c.source).stored += c.count;
    const byReason = new Map<string, number>();
    for (const d of dead) {
      entry(d.source ?? '(not an event)').deadLettered += d.count;
      byReason.set(d.reason, (byReason.get(d.reason) ?? 0) + d.count);
    }
    const { topology } = deps;
    const retryDepths = topology.retryQueues.map((q) => depths.get(q.name));
    const main = depths.get(topology.queue) ?? null;
    return {
      generatedAt: now.toISOString(),
      windowStart: since.toISOString(),
      sources: [...sources]
        .map(([source, n]) => ({ source, ...n }))
        .sort((a, b) => b.stored + b.deadLettered - (a.stored + a.deadLettered)),
      deadLetteredByReason: [...byReason]
        .map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count),
      queues: {
        main,
        retry: retryDepths.some((d) => d === undefined)
          ? null
          : retryDepths.reduce<number>((sum, d) => sum + (d ?? 0), 0),
        deadLetter: depths.get(topology.deadLetterQueue) ?? null,
      },
      oldestDeadLetter:
        oldest === undefined
          ? null
          : {
              deadLetteredAt: oldest,
              ageSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(oldest)) / 1000)),
            },
      lagMessages: main,
      receiptToStoredSeconds: quantiles(lag.values),
      databaseCircuit: deps.circuitOpen() ? 'open' : 'closed',
    };
  };
}

interface MetricValue {
  value: number;
  metricName?: string;
  labels: Partial<Record<string, string | number>>;
}

function quantiles(values: readonly MetricValue[]): Overview['receiptToStoredSeconds'] {
  const buckets = values
    .filter((v) => v.metricName?.endsWith('_bucket'))
    .map((v) => ({ le: Number(v.labels.le), count: v.value }))
    .sort((a, b) => a.le - b.le);
  const count = buckets.at(-1)?.count ?? 0;
  if (count === 0) return null;
  return {
    p50: histogramQuantile(buckets, 0.5),
    p99: histogramQuantile(buckets, 0.99),
    count,
  };
}

/**
 * The q-quantile of a cumulative histogram, interpolated linearly inside its bucket (as
 * Prometheus's `histogram_quantile` does). In the +Inf bucket it answers the largest finite
 * bound: the true value is at least that.
 */
export function histogramQuantile(
  buckets: ReadonlyArray<{ le: number; count: number }>,
  q: number,
): number {
  const total = buckets.at(-1)?.count ?? 0;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (!Number.isFinite(bucket.le)) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      const fraction = inBucket === 0 ? 1 : (rank - lowerCount) / inBucket;
      return lowerBound + (bucket.le - lowerBound) * fraction;
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}
