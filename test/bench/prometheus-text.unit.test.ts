import { describe, expect, it } from 'vitest';
import { LatencySeconds } from '../../bench/lib/latency-seconds.js';
import {
  bucketDelta,
  bucketsOf,
  parsePrometheusText,
  quantileOf,
  sample,
  sumOf,
} from '../../bench/lib/prometheus-text.js';

const scrape = (confirmed: number[], gcSum: number) =>
  parsePrometheusText(
    [
      '# HELP nodejs_eventloop_lag_p99_seconds The 99th percentile of the recorded event loop delays.',
      '# TYPE nodejs_eventloop_lag_p99_seconds gauge',
      'nodejs_eventloop_lag_p99_seconds 0.0123',
      `nodejs_gc_duration_seconds_sum{kind="minor"} ${gcSum}`,
      'nodejs_gc_duration_seconds_sum{kind="major"} 0.5',
      ...[0.005, 0.01, 0.025, '+Inf'].map(
        (le, i) =>
          `publish_confirm_duration_seconds_bucket{le="${le}",outcome="confirmed"} ${confirmed[i]}`,
      ),
      'publish_confirm_duration_seconds_bucket{le="+Inf",outcome="failed"} 7',
      '',
    ].join('\n'),
  );

describe('reading the services’ own metrics', () => {
  it('reads gauges and sums a metric over its labels', () => {
    const s = scrape([0, 0, 0, 0], 0.25);
    expect(sample(s, 'nodejs_eventloop_lag_p99_seconds')).toBe(0.0123);
    expect(sumOf(s, 'nodejs_gc_duration_seconds_sum')).toBe(0.75);
    expect(sumOf(s, 'nodejs_gc_duration_seconds_sum', 'kind="major"')).toBe(0.5);
  });

  it('takes quantiles of the observations between two scrapes only', () => {
    // Before: 100 fast confirms. Then 100 more, 98 under 5 ms and 2 between 10 and 25 ms.
    const before = bucketsOf(
      scrape([100, 100, 100, 100], 0),
      'publish_confirm_duration_seconds',
      'outcome="confirmed"',
    );
    const after = bucketsOf(
      scrape([198, 198, 200, 200], 0),
      'publish_confirm_duration_seconds',
      'outcome="confirmed"',
    );
    const second = bucketDelta(before, after);
    expect(second.at(-1)?.count).toBe(100);
    expect(quantileOf(second, 0.5)).toBeCloseTo(0.005 * (50 / 98), 6);
    // Rank 99 falls in the 10–25 ms bucket, halfway through its two observations.
    expect(quantileOf(second, 0.99)).toBeCloseTo(0.0175, 6);
    expect(quantileOf(bucketDelta(after, after), 0.99)).toBeUndefined();
  });

  it('answers the last finite bound when the quantile lies past it', () => {
    const buckets = [
      { le: 0.01, count: 1 },
      { le: Number.POSITIVE_INFINITY, count: 10 },
    ];
    expect(quantileOf(buckets, 0.99)).toBe(0.01);
  });
});

describe('latency by second', () => {
  it('keeps each second’s tail and the warm-up apart from the steady state', () => {
    const latencies = new LatencySeconds();
    for (let i = 0; i < 1000; i++) latencies.record(0, i === 999 ? 900 : 5, true);
    for (let i = 0; i < 1000; i++) latencies.record(1, 2, i !== 0);
    const [first, second] = latencies.perSecond();
    expect(first?.maxMs).toBe(900);
    expect(first?.p99Ms).toBe(5);
    expect(second?.failed).toBe(1);
    expect(latencies.summary(1).maxMs).toBe(2);
    expect(latencies.summary().p999Ms).toBe(5);
    expect(latencies.summary().count).toBe(2000);
  });
});
