import type { BenchResult, Check } from './types.js';

const n = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The targets of docs/performance.md; loss and a ratio floor gate `--quick`, absolutes do not. */
export function checkTargets(r: BenchResult): Check[] {
  const ratio = r.ingest.requestsPerSecond / r.ceiling.requestsPerSecond;
  return [
    // The floor gates --quick: far below anything measured, so only a regression trips it.
    {
      name: `ingest ≥ 0.05 × ceiling, regression floor (${n(ratio, 2)})`,
      pass: ratio >= 0.05,
      gate: true,
    },
    { name: `ingest ≥ 0.55 × ceiling (${n(ratio, 2)})`, pass: ratio >= 0.55, gate: false },
    {
      name: 'ingest: every 200 is in the queue',
      pass: r.ingest.queued === r.ingest.accepted,
      gate: true,
    },
    {
      name: 'end to end: every 200 is stored',
      pass: r.endToEnd.stored === r.endToEnd.accepted,
      gate: true,
    },
    {
      name: 'drain: every message is stored',
      pass: r.drain.stored === r.drain.messages,
      gate: true,
    },
    {
      name: 'fixed rate: every 200 is stored',
      pass: r.fixedRate.stored === r.fixedRate.accepted,
      gate: true,
    },
    {
      name: 'end to end ≥ 5,000 persisted/s',
      pass: r.endToEnd.persistedPerSecond >= 5000,
      gate: false,
    },
    { name: 'drain ≥ 15,000 rows/s', pass: r.drain.rowsPerSecond >= 15_000, gate: false },
    {
      name: 'fixed rate: ingest p99 ≤ 15 ms',
      pass: r.fixedRate.load.latencyP99Ms <= 15,
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
  ];
}

export function renderReport(r: BenchResult, checks: Check[]): string {
  const m = r.machine;
  const lines = [
    `Benchmark (${r.mode}, ${r.queueType} queues, ${r.brokerNodes === 1 ? 'one RabbitMQ node' : `a cluster of ${r.brokerNodes} RabbitMQ nodes`}), ${r.startedAt}: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}; load generator, both services, RabbitMQ and PostgreSQL on the same machine.`,
    '',
    '| phase | throughput | latency p50 / p99 | errors / loss |',
    '| --- | --- | --- | --- |',
    `| ceiling: bare Node HTTP + JSON.parse | ${n(r.ceiling.requestsPerSecond)} req/s | ${r.ceiling.latencyP50Ms} / ${r.ceiling.latencyP99Ms} ms | ${r.ceiling.non2xx + r.ceiling.errors} errors |`,
    `| ingest (publisher confirms, consumer stopped) | ${n(r.ingest.requestsPerSecond)} req/s (${n(r.ingest.requestsPerSecond / r.ceiling.requestsPerSecond, 2)} × ceiling) | ${r.ingest.latencyP50Ms} / ${r.ingest.latencyP99Ms} ms | ${r.ingest.non2xx + r.ingest.errors} errors; ${n(r.ingest.accepted)} accepted, ${n(r.ingest.queued)} in queue |`,
    `| end to end (ingest + consumer) | ${n(r.endToEnd.persistedPerSecond)} stored/s (${n(r.endToEnd.load.requestsPerSecond)} req/s) | HTTP ${r.endToEnd.load.latencyP50Ms} / ${r.endToEnd.load.latencyP99Ms} ms; receipt→stored ${n(r.endToEnd.storedP50Ms)} / ${n(r.endToEnd.storedP99Ms)} ms | ${n(r.endToEnd.accepted)} accepted, ${n(r.endToEnd.stored)} stored |`,
    `| drain (${n(r.drain.messages)} pre-filled) | ${n(r.drain.rowsPerSecond)} rows/s | — | ${n(r.drain.stored)} stored |`,
    `| fixed rate ${n(r.plan.fixedRate ?? 0)} req/s × ${r.plan.fixedSeconds} s (open loop) | ${n(r.fixedRate.load.achievedPerSecond)} req/s sent | HTTP ${n(r.fixedRate.load.latencyP50Ms, 1)} / ${n(r.fixedRate.load.latencyP99Ms, 1)} ms; receipt→stored ${n(r.fixedRate.storedP50Ms, 1)} / ${n(r.fixedRate.storedP99Ms, 1)} ms | ${r.fixedRate.load.failed} failed; ${n(r.fixedRate.accepted)} accepted, ${n(r.fixedRate.stored)} stored |`,
    `| peak RSS | ingest ${r.peakRssMb.ingest} MB, consumer ${r.peakRssMb.consumer} MB | | |`,
    '',
    ...checks.map(
      (c) => `- [${c.pass ? 'x' : ' '}] ${c.name}${c.gate ? '' : ' (target, not gated)'}`,
    ),
  ];
  return lines.join('\n');
}
