import { n, opt } from './lib/figures.js';
import type { BenchResult, Check, LargeBodies } from './types.js';

/**
 * The targets of docs/performance.md; loss and a ratio floor gate `--quick`, absolutes do not.
 * Loss is fewer events kept than acknowledged; more is not loss (a publish that timed out, and
 * was answered 503, may still reach the broker).
 */
export function checkTargets(r: BenchResult): Check[] {
  const ratio = r.ingest.requestsPerSecond / r.ceiling.requestsPerSecond;
  const brokerRatio = r.ingest.requestsPerSecond / r.brokerCeiling.publishesPerSecond;
  const steady = r.fixedRate.load.steady;
  return [
    // The floor gates --quick: far below anything measured, so only a regression trips it.
    {
      name: `ingest ≥ 0.05 × bare HTTP, regression floor (${n(ratio, 2)})`,
      pass: ratio >= 0.05,
      gate: true,
    },
    {
      name: `ingest ≥ 0.8 × broker ceiling (${n(brokerRatio, 2)})`,
      pass: brokerRatio >= 0.8,
      gate: false,
    },
    {
      name: 'broker ceiling: every confirmed publish is in the queue',
      pass: r.brokerCeiling.queued >= r.brokerCeiling.confirmed,
      gate: true,
    },
    {
      name: 'ingest: every 200 is in the queue',
      pass: r.ingest.queued >= r.ingest.accepted,
      gate: true,
    },
    ...r.endToEndCurve.map((level) => ({
      name: `end to end, ${level.connections} connections: every 200 is stored`,
      pass: level.stored >= level.accepted,
      gate: true,
    })),
    {
      name: 'drain: every message is stored',
      pass: r.drain.stored === r.drain.messages,
      gate: true,
    },
    ...(r.brokerFixedRate === undefined
      ? []
      : [
          {
            name: 'broker fixed rate: every confirmed publish is stored',
            pass: r.brokerFixedRate.stored >= r.brokerFixedRate.accepted,
            gate: true,
          },
        ]),
    {
      name: 'fixed rate: every 200 is stored',
      pass: r.fixedRate.stored >= r.fixedRate.accepted,
      gate: true,
    },
    {
      name: `end to end ≥ 5,000 stored/s at ${r.endToEnd.connections} connections`,
      pass: r.endToEnd.persistedPerSecond >= 5000,
      gate: false,
    },
    { name: 'drain ≥ 15,000 rows/s', pass: r.drain.rowsPerSecond >= 15_000, gate: false },
    {
      name: `fixed rate, steady state: ingest p99 ≤ 25 ms (${n(steady.p99Ms, 1)})`,
      pass: steady.p99Ms <= 25,
      gate: false,
    },
    {
      name: `fixed rate, steady state: ingest p99.9 ≤ 100 ms (${n(steady.p999Ms, 1)})`,
      pass: steady.p999Ms <= 100,
      gate: false,
    },
    {
      name: 'fixed rate: receipt-to-stored p99 ≤ 100 ms',
      pass: r.fixedRate.storedP99Ms <= 100,
      gate: false,
    },
    {
      name: 'RSS ≤ 150 MB per service',
      pass: Math.max(r.peakRssMb.ingest, r.peakRssMb.consumer) <= 150,
      gate: false,
    },
    ...largeBodiesChecks(r.largeBodies),
  ];
}

function largeBodiesChecks(l: LargeBodies | undefined): Check[] {
  if (l === undefined) return [];
  return [
    {
      name: 'large bodies: every 200 is stored, none retried or dead-lettered',
      pass: l.stored >= l.accepted && l.retried === 0 && l.deadLettered === 0,
      gate: true,
    },
    {
      name: `large bodies: consumer peak RSS ≤ 200 MB (${opt(l.peakRssMb.consumer, 0)})`,
      pass: (l.peakRssMb.consumer ?? Number.POSITIVE_INFINITY) <= 200,
      gate: false,
    },
  ];
}
