import { round } from './latency-seconds.js';
import {
  bucketDelta,
  bucketsOf,
  parsePrometheusText,
  quantileOf,
  type Scrape,
  sample,
  sumOf,
} from './prometheus-text.js';

/**
 * One second of a service, from its own `/metrics` scraped once a second: the event-loop
 * delay (prom-client's `nodejs_eventloop_lag_*`, reset at every scrape, so each scrape covers
 * the second before it), GC pauses, RSS, and the confirm and receipt-to-stored histograms.
 */
export interface ServiceSecond {
  /** Seconds since the load started, of the scrape that ends this second. */
  second: number;
  eventLoopP99Ms: number | undefined;
  eventLoopMaxMs: number | undefined;
  /**
   * CPU the process used in this second, % of one core. A long loop delay with little CPU means
   * the process waited (descheduled on a busy machine, or blocked), not that it computed.
   */
  cpuPercent: number;
  gcPauseMs: number;
  gcCount: number;
  rssMb: number | undefined;
  /** Ingest: `publish_confirm_duration_seconds` (confirmed) in this second, from the buckets. */
  confirmP50Ms?: number | undefined;
  confirmP99Ms?: number | undefined;
  /** Consumer: `event_lag_seconds` (receipt to stored) in this second, from the buckets. */
  storedP99Ms?: number | undefined;
}

interface Timed {
  atMs: number;
  scrape: Scrape;
}

/** Scrapes `url` once a second until stopped; failed scrapes are skipped (a gap, not a zero). */
export function sampleEverySecond(url: string): { stop(): Promise<Timed[]> } {
  const scrapes: Timed[] = [];
  const scrapeOnce = async () => {
    try {
      const atMs = Date.now();
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const scrape = parsePrometheusText(await res.text());
      // An error answer (e.g. a collector that failed) is a missing second, not zeros.
      if (res.ok && scrape.has('process_cpu_seconds_total')) scrapes.push({ atMs, scrape });
    } catch {
      // a missing second shows as a gap
    }
  };
  let inFlight = scrapeOnce();
  const timer = setInterval(() => {
    inFlight = scrapeOnce();
  }, 1000);
  return {
    stop: async () => {
      clearInterval(timer);
      await inFlight;
      await scrapeOnce();
      return scrapes;
    },
  };
}

const ms = (seconds: number | undefined) =>
  seconds === undefined ? undefined : round(seconds * 1000);

/** Second-by-second rows from consecutive scrapes, timed from `startedAtMs`. */
export function serviceSeconds(scrapes: Timed[], startedAtMs: number): ServiceSecond[] {
  const rows: ServiceSecond[] = [];
  for (let i = 1; i < scrapes.length; i++) {
    const before = scrapes[i - 1];
    const after = scrapes[i];
    if (before === undefined || after === undefined) continue;
    const a = after.scrape;
    const b = before.scrape;
    const confirm = bucketDelta(
      bucketsOf(b, 'publish_confirm_duration_seconds', 'outcome="confirmed"'),
      bucketsOf(a, 'publish_confirm_duration_seconds', 'outcome="confirmed"'),
    );
    const stored = bucketDelta(
      bucketsOf(b, 'event_lag_seconds'),
      bucketsOf(a, 'event_lag_seconds'),
    );
    const rss = sample(a, 'process_resident_memory_bytes');
    rows.push({
      second: round((after.atMs - startedAtMs) / 1000, 1),
      eventLoopP99Ms: ms(sample(a, 'nodejs_eventloop_lag_p99_seconds')),
      eventLoopMaxMs: ms(sample(a, 'nodejs_eventloop_lag_max_seconds')),
      cpuPercent: Math.round(
        ((sumOf(a, 'process_cpu_seconds_total') - sumOf(b, 'process_cpu_seconds_total')) *
          100_000) /
          Math.max(1, after.atMs - before.atMs),
      ),
      gcPauseMs: round(
        (sumOf(a, 'nodejs_gc_duration_seconds_sum') - sumOf(b, 'nodejs_gc_duration_seconds_sum')) *
          1000,
      ),
      gcCount:
        sumOf(a, 'nodejs_gc_duration_seconds_count') - sumOf(b, 'nodejs_gc_duration_seconds_count'),
      rssMb: rss === undefined ? undefined : Math.round(rss / 2 ** 20),
      ...(confirm.length > 0
        ? {
            confirmP50Ms: ms(quantileOf(confirm, 0.5)),
            confirmP99Ms: ms(quantileOf(confirm, 0.99)),
          }
        : {}),
      ...(stored.length > 0 ? { storedP99Ms: ms(quantileOf(stored, 0.99)) } : {}),
    });
  }
  return rows;
}
