import { INGEST_BROKER_TARGET, ingestCpuBudget } from './lib/capacity.js';
import type { FailureGroup } from './lib/failures.js';
import { n, opt, subscriptions } from './lib/figures.js';
import type { LatencySummary } from './lib/latency-seconds.js';
import type { CpuShare } from './lib/machine-samples.js';
import type {
  BenchResult,
  Check,
  ColdStartResult,
  DeliveryBesideBackfill,
  DeliveryDrain,
  DeliveryLatency,
  DeliveryOutageResult,
  DeliveryResult,
  DrainMemoryResult,
  FixedRate,
  LargeBodies,
  SoakResult,
} from './types.js';

const latency = (s: LatencySummary) =>
  `${n(s.p50Ms, 1)} / ${n(s.p99Ms, 1)} / ${n(s.p999Ms, 1)} / ${n(s.maxMs, 1)} ms`;

/** ` in storage format 2`, for a classic run; nothing for a quorum one. */
function storageFormat(r: BenchResult): string {
  if (r.classicQueueFormat === undefined) return '';
  return r.classicQueueFormat === null
    ? ', storage format unknown (the management API did not say)'
    : ` in storage format ${r.classicQueueFormat}`;
}

export function renderReport(r: BenchResult, checks: Check[]): string {
  const m = r.machine;
  const bc = r.brokerCeiling;
  const lines = [
    `Benchmark (${r.mode}, ${r.queueType} queues${storageFormat(r)}, ${r.brokerNodes === 1 ? 'one RabbitMQ node' : `a cluster of ${r.brokerNodes} RabbitMQ nodes`}), ${r.startedAt}: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, load average ${n(m.loadAverage.start, 2)} → ${n(m.loadAverage.end, 2)}; load generator, both services, RabbitMQ and PostgreSQL on the same machine.`,
    '',
    '| phase | throughput | latency p50 / p99 | errors / loss |',
    '| --- | --- | --- | --- |',
    `| ceiling: bare Node HTTP + JSON.parse, ${r.plan.connections} connections | ${n(r.ceiling.requestsPerSecond)} req/s | ${r.ceiling.latencyP50Ms} / ${r.ceiling.latencyP99Ms} ms | ${r.ceiling.non2xx + r.ceiling.errors} errors |`,
    ...(r.ceilingAtIngestRate === undefined
      ? []
      : [
          `| bare server held to the ingest's rate, ${r.plan.connections} connections | ${n(r.ceilingAtIngestRate.requestsPerSecond)} req/s | ${r.ceilingAtIngestRate.latencyP50Ms} / ${r.ceilingAtIngestRate.latencyP99Ms} ms | ${r.ceilingAtIngestRate.non2xx + r.ceilingAtIngestRate.errors} errors |`,
        ]),
    `| broker ceiling: confirmed persistent publishes, ${bc.concurrency} outstanding | ${n(bc.publishesPerSecond)} msg/s | ${n(bc.latencyP50Ms, 1)} / ${n(bc.latencyP99Ms, 1)} ms | ${bc.failed} failed; ${n(bc.confirmed)} confirmed, ${n(bc.queued)} in queue |`,
    `| ingest (publisher confirms, consumer stopped) | ${n(r.ingest.requestsPerSecond)} req/s (${n(r.ingest.requestsPerSecond / bc.publishesPerSecond, 2)} × broker, ${n(r.ingest.requestsPerSecond / r.ceiling.requestsPerSecond, 2)} × bare HTTP) | ${r.ingest.latencyP50Ms} / ${r.ingest.latencyP99Ms} ms | ${r.ingest.non2xx + r.ingest.errors} errors; ${n(r.ingest.accepted)} accepted, ${n(r.ingest.queued)} in queue |`,
    ...r.endToEndCurve.map(
      (e) =>
        `| end to end, ${e.connections} connections | ${n(e.persistedPerSecond)} stored/s (${n(e.load.requestsPerSecond)} req/s) | HTTP ${e.load.latencyP50Ms} / ${e.load.latencyP99Ms} ms; receipt→stored ${n(e.storedP50Ms)} / ${n(e.storedP99Ms)} ms | ${n(e.accepted)} accepted, ${n(e.stored)} stored |`,
    ),
    `| drain (${n(r.drain.messages)} pre-filled) | ${n(r.drain.rowsPerSecond)} rows/s | — | ${n(r.drain.stored)} stored |`,
    ...(r.brokerFixedRate === undefined ? [] : [fixedRow('broker alone', r.brokerFixedRate, r)]),
    fixedRow('HTTP', r.fixedRate, r),
    `| peak RSS (small bodies) | ingest ${r.peakRssMb.ingest} MB, consumer ${r.peakRssMb.consumer} MB | | |`,
    ...(r.largeBodies === undefined ? [] : largeBodiesRows(r.largeBodies)),
    ...(r.delivery === undefined ? [] : deliveryRows(r.delivery, r)),
    '',
    ...capacityLines(r),
    ...ingestBudgetLines(r),
    ...failureLines('Failed requests at the fixed rate through HTTP', r.fixedRate),
    ...(r.brokerFixedRate === undefined
      ? []
      : failureLines('Failed publishes of the broker alone at the fixed rate', r.brokerFixedRate)),
    ...(r.delivery === undefined ? [] : deliveryCpu(r.delivery)),
    ...(r.ingest.serverTime === undefined
      ? []
      : [
          `Ingest phase, as the API timed it: a request took ${r.ingest.serverTime.requestMeanMs} ms on average from arrival to answer, of which ${r.ingest.serverTime.confirmMeanMs} ms waiting for the broker's confirm.`,
          '',
        ]),
    ...cpuTable([
      ['ceiling (bare HTTP)', r.ceiling.cpu],
      ["bare HTTP at the ingest's rate", r.ceilingAtIngestRate?.cpu],
      ['broker ceiling', r.brokerCeiling.cpu],
      ['ingest', r.ingest.cpu],
    ]),
    ...(r.peakRssByPhase === undefined
      ? []
      : [
          `Peak RSS by phase (MB, ingest / consumer): ${Object.entries(r.peakRssByPhase)
            .map(([phase, p]) => `${phase} ${p.ingest ?? '—'} / ${p.consumer ?? '—'}`)
            .join('; ')}.`,
          '',
        ]),
    `Fixed rate, latency p50 / p99 / p99.9 / max: warm-up (first ${r.plan.warmupSeconds} s) ${latency(r.fixedRate.load.warmup)}; steady ${latency(r.fixedRate.load.steady)}.${synRetransmitsText(r.fixedRate)}`,
    ...(r.brokerFixedRate === undefined
      ? []
      : [
          `Broker alone at the same rate, confirm latency: warm-up ${latency(r.brokerFixedRate.load.warmup)}; steady ${latency(r.brokerFixedRate.load.steady)}.`,
        ]),
    '',
    ...checks.map(
      (c) => `- [${c.pass ? 'x' : ' '}] ${c.name}${c.gate ? '' : ' (target, not gated)'}`,
    ),
    '',
    'Fixed rate through HTTP, second by second:',
    '',
    ...perSecondTable(r.fixedRate),
    ...(r.brokerFixedRate === undefined
      ? []
      : [
          '',
          'The broker alone at the same rate, second by second (p50…max: confirm latency):',
          '',
          ...perSecondTable(r.brokerFixedRate),
        ]),
  ];
  return lines.join('\n');
}

/**
 * The composed limit of the run's three limits and end to end's share of it; the fixed rate as
 * a share of capacity; CPU per request and per stored event.
 */
export function capacityLines(
  r: Pick<BenchResult, 'capacity' | 'cpuPerRequest' | 'drain' | 'fixedRatePerSecond' | 'plan'>,
): string[] {
  const c = r.capacity;
  const lines: string[] = [];
  if (c !== undefined) {
    lines.push(
      `Capacity of this machine, from this run: bare HTTP ${n(c.bareHttpPerSecond)}/s, broker ceiling ${n(c.brokerPerSecond)}/s, drain ${n(c.drainPerSecond)}/s; composed limit 1 / (1/bare HTTP + 1/broker ceiling + 1/drain) = ${n(c.composedLimitPerSecond)}/s. End to end (best, ${c.endToEndConnections} connections) ${n(c.endToEndPerSecond)} stored/s = ${n(c.endToEndShare, 2)} × the composed limit.`,
    );
  }
  if (r.fixedRatePerSecond !== undefined) {
    lines.push(
      r.plan.fixedRate === undefined
        ? `The fixed-rate phases ran at ${n(r.fixedRatePerSecond)}/s, half of end to end.`
        : `The fixed-rate phases ran at ${n(r.fixedRatePerSecond)}/s, as --rate asked.`,
    );
  }
  const cpu = r.cpuPerRequest;
  if (cpu !== undefined || r.drain.consumerCpuMicros !== undefined) {
    const ratio =
      cpu?.ingestMicros !== undefined && cpu.bareHttpMicros !== undefined && cpu.bareHttpMicros > 0
        ? ` (${n(cpu.ingestMicros / cpu.bareHttpMicros, 2)} × bare)`
        : '';
    const atRate = cpu?.bareHttpAtIngestRateMicros;
    const atRateText =
      atRate === undefined || atRate <= 0 || cpu?.ingestMicros === undefined
        ? ''
        : `; held to the ingest's rate on the same connections, the bare server spent ${n(atRate)} µs (ingest ${n(cpu.ingestMicros / atRate, 2)} × that)`;
    lines.push(
      `CPU time per request, from /proc: ingest API ${opt(cpu?.ingestMicros, 0)} µs per accepted request${ratio}, bare server ${opt(cpu?.bareHttpMicros, 0)} µs at its ceiling${atRateText}; the consumer ${opt(r.drain.consumerCpuMicros, 0)} µs per stored event (drain).`,
    );
  }
  return lines.length === 0 ? [] : [...lines, ''];
}

/**
 * Whether the ingest target fits this machine at the CPU the ingest phase spent per accepted
 * request: the API's, RabbitMQ's and the rest (load generator, kernel), on the same cores.
 */
export function ingestBudgetLines(
  r: Pick<BenchResult, 'ingest' | 'brokerCeiling' | 'machine' | 'cpuPerRequest'>,
): string[] {
  const b = ingestCpuBudget({
    cpu: r.ingest.cpu,
    accepted: r.ingest.accepted,
    targetPerSecond: INGEST_BROKER_TARGET * r.brokerCeiling.publishesPerSecond,
    cores: r.machine.cpus,
  });
  if (b === undefined) return [];
  const bare = r.cpuPerRequest?.bareHttpMicros;
  const fit =
    b.apiMicrosThatFit <= 0
      ? 'no cost of the API fits'
      : `the API would have to spend at most ${n(b.apiMicrosThatFit)} µs on a request${bare === undefined || bare <= 0 ? '' : ` (${n(b.apiMicrosThatFit / bare, 2)} × the bare server's)`}`;
  const verdict =
    b.neededPercent > b.availablePercent
      ? `beyond this machine's ${n(b.availablePercent)} %: ${fit}`
      : b.apiPercent > 100
        ? `within the machine's ${n(b.availablePercent)} %, but the API (one process) would need ${n(b.apiPercent)} % of one core`
        : `within the machine's ${n(b.availablePercent)} % (the API ${n(b.apiPercent)} % of one core): CPU does not rule it out here`;
  return [
    `Ingest at ${INGEST_BROKER_TARGET} × the broker ceiling (${n(b.targetPerSecond)}/s) would take ${n(b.neededPercent)} % CPU at the ingest phase's cost per accepted request (API ${n(b.apiMicros)} µs, RabbitMQ ${n(b.rabbitmqMicros)} µs, the rest of the machine ${n(b.restMicros)} µs): ${verdict}.`,
    '',
  ];
}

/** `4 × status 503 (second 2–4); 1 × error ECONNRESET (second 0)`. */
function failureList(groups: FailureGroup[]): string {
  return groups
    .map(
      (g) =>
        `${n(g.count)} × ${g.reason} (second ${g.firstSecond}${g.lastSecond === g.firstSecond ? '' : `–${g.lastSecond}`})`,
    )
    .join('; ');
}

/** An open-loop run's failures, grouped by status or error. */
export function failureLines(title: string, f: FixedRate): string[] {
  const groups = f.load.failures;
  if (groups === undefined || f.load.failed === 0) return [];
  return [`${title}: ${failureList(groups)}.`, ''];
}

function largeBodiesRows(l: LargeBodies): string[] {
  return [
    `| large bodies: ${l.bodies} × ${n(l.bodyBytes / 1024)} KiB through the API, consumer stopped, then drained | ${n(l.bodies / l.seconds, 1)} bodies/s (${n(l.seconds, 1)} s) | — | ${l.accepted} accepted, ${l.stored} stored; ${l.retried} retried, ${l.deadLettered} dead-lettered, ${l.handedBack} handed back |`,
    `| peak RSS (large bodies) | ingest ${opt(l.peakRssMb.ingest, 0)} MB, consumer ${opt(l.peakRssMb.consumer, 0)} MB; consumer's unacked bytes up to ${n(l.unackedMaxMb, 1)} MiB (sampled) | | |`,
  ];
}

function deliveryRows(d: DeliveryResult, r: BenchResult): string[] {
  const times = (perSecond: number) =>
    `${n(perSecond / Math.max(1, r.capacity?.endToEndPerSecond ?? r.endToEnd.persistedPerSecond), 2)} × e2e stored/s`;
  const l = d.latency;
  const t = l.storedToDelivered;
  return [
    ...d.drain.map(
      (drain) =>
        `| delivery drain: ${n(drain.events)} events stored for ${subscriptions(drain.subscriptions)} (maxInFlight ${d.maxInFlight}), then sent by the consumer alone | ${n(drain.deliveriesPerSecond)} deliveries/s${drain.subscriptions > 1 ? `, ${n(drain.eventsPerSecond)}/s per subscription` : ''} (${times(drain.eventsPerSecond)}; ${n(drain.seconds, 1)} s) | — | ${n(drain.arrived)} arrived, ${n(drain.recorded)} recorded delivered |`,
    ),
    ...(d.orderedDrain === undefined ? [] : [orderedDrainRow(d.orderedDrain, d)]),
    ...d.live.map(
      (live) =>
        `| delivery beside end to end, ${live.connections} connections, ${subscriptions(live.subscriptions)} | ${n(live.deliveriesPerSecond)} deliveries/s${live.subscriptions > 1 ? ` (${n(live.eventsPerSecond)}/s per subscription)` : ''} while ${n(live.storedPerSecond)} stored/s | ${n(live.behindAtEnd)} deliveries behind when the load stopped, all in ${n(live.catchUpSeconds, 1)} s later | ${n(live.stored)} stored, ${n(live.arrived)} arrived, ${n(live.recorded)} recorded |`,
    ),
    ...(d.besideBackfill === undefined ? [] : [backfillRow(d.besideBackfill, l)]),
    `| delivery at ${n(l.ratePerSecond)}/s (half of ${n(l.limitPerSecond)}/s, what the run can store and deliver at once: 1 / (1/end to end + 1/1-subscription drain)) × ${l.seconds} s through the API, 1 subscription | ${n(l.load.achievedPerSecond)}/s sent | stored→delivered ${n(t.p50Ms, 1)} / ${n(t.p99Ms, 1)} ms (max ${n(t.maxMs, 1)}; after the first ${l.warmupSeconds} s p99 ${n(l.steadyStoredToDelivered.p99Ms, 1)}); HTTP steady p99 ${n(l.load.steady.p99Ms, 1)} ms | ${l.load.failed} failed; ${n(l.accepted)} accepted, ${n(l.stored)} stored, ${n(l.arrived)} arrived, ${n(l.recorded)} recorded |`,
  ];
}

function backfillRow(b: DeliveryBesideBackfill, alone: DeliveryLatency): string {
  const t = b.latency.steadyStoredToDelivered;
  const a = alone.steadyStoredToDelivered;
  return `| the same, while another subscription is backfilled with ${n(b.backfilled)} events (made in ${n(b.backfillSeconds, 1)} s, ${n(b.backfillArrivedDuringLive)} of them sent during the run) | ${n(b.latency.load.achievedPerSecond)}/s sent | steady stored→delivered ${n(t.p50Ms, 1)} / ${n(t.p99Ms, 1)} ms, ${n(t.p50Ms / Math.max(0.001, a.p50Ms), 2)} / ${n(t.p99Ms / Math.max(0.001, a.p99Ms), 2)} × without the backfill | ${b.latency.load.failed} failed; ${n(b.latency.stored)} stored, ${n(b.latency.arrived)} arrived |`;
}

/** The ordered drain beside the unordered one of the same run: deliveries/s and their ratio. */
function orderedDrainRow(ordered: DeliveryDrain, d: DeliveryResult): string {
  const unordered = d.drain.find((drain) => drain.subscriptions === 1);
  const ratio =
    unordered === undefined
      ? '—'
      : n(ordered.deliveriesPerSecond / Math.max(1, unordered.deliveriesPerSecond), 2);
  return `| delivery drain ordered per key: ${n(ordered.events)} events of ${n(ordered.orderingKeys ?? 0)} keys interleaved, 1 subscription (maxInFlight ${d.maxInFlight}) | ${n(ordered.deliveriesPerSecond)} deliveries/s ordered vs ${unordered === undefined ? '—' : n(unordered.deliveriesPerSecond)} unordered: ${ratio} × (${n(ordered.seconds, 1)} s) | — | ${n(ordered.arrived)} arrived, ${n(ordered.recorded)} recorded delivered |`;
}

/** CPU per delivery in each backlog drain, and the signatures the receiver checked. */
function deliveryCpu(d: DeliveryResult): string[] {
  return [
    `Delivery drains, CPU time per delivery (consumer / PostgreSQL / receiver): ${d.drain
      .map(
        (drain) =>
          `${subscriptions(drain.subscriptions)} ${opt(drain.consumerCpuMicros, 0)} / ${opt(drain.postgresCpuMicros, 0)} / ${opt(drain.receiverCpuMicros, 0)} µs (machine busy ${opt(drain.cpu?.busyPercent, 0)} % of one core)`,
      )
      .join(
        '; ',
      )}. Each delivery run started after a VACUUM of the delivery tables${d.autovacuum === false ? ' (autovacuum is off on this database)' : ''}. The receiver verified ${n(d.verified)} sampled signatures (one delivery in ${d.verifyEvery}) with standardwebhooks${d.notVerified > 0 ? `, and REFUSED ${n(d.notVerified)}` : ''}.`,
    '',
  ];
}

function fixedRow(via: string, f: FixedRate, r: BenchResult): string {
  return `| fixed rate ${n(r.fixedRatePerSecond ?? r.plan.fixedRate ?? 0)}/s × ${r.plan.fixedSeconds} s, ${via} (open loop) | ${n(f.load.achievedPerSecond)}/s sent | ${via === 'HTTP' ? 'HTTP' : 'confirm'} ${n(f.load.latencyP50Ms, 1)} / ${n(f.load.latencyP99Ms, 1)} ms; receipt→stored ${n(f.storedP50Ms, 1)} / ${n(f.storedP99Ms, 1)} ms | ${f.load.failed} failed; ${n(f.accepted)} accepted, ${n(f.stored)} stored |`;
}

/**
 * The machine's TCP SYN retransmissions over a fixed-rate phase, when counted: each is a
 * connection that waited 1 s (or more) before it could carry a request.
 */
export function synRetransmitsText(f: FixedRate): string {
  const counted = f.machine.filter((m) => m.synRetransmits !== undefined);
  if (counted.length === 0) return '';
  const total = counted.reduce((sum, m) => sum + (m.synRetransmits ?? 0), 0);
  const seconds = counted
    .filter((m) => (m.synRetransmits ?? 0) > 0)
    .map((m) => Math.round(m.second));
  return total === 0
    ? ' No TCP SYN was sent again during the phase.'
    : ` TCP SYNs sent again during the phase (each a connection that waited at least 1 s to open): ${total}, in the samples ending at second${seconds.length > 1 ? 's' : ''} ${seconds.join(', ')}.`;
}

const connectsText = (c: { opened: number; maxMs: number } | undefined) =>
  c === undefined ? '—' : c.opened === 0 ? '0' : `${c.opened} / ${n(c.maxMs, 1)}`;

/** The service sample whose scrape ended second `s` (scrapes land about one second apart). */
const atSecond = <T extends { second: number }>(rows: T[], s: number) =>
  rows.find((row) => Math.round(row.second) - 1 === s);

/**
 * HTTP latency by scheduled second beside the generator's own delay and both services' event
 * loop, GC and confirm/receipt-to-stored histograms, so a slow second shows where it came from.
 */
export function perSecondTable(f: FixedRate): string[] {
  return [
    '| s | sent | p50 | p99 | max | gen lag max | gen CPU % | late max | ingest loop p99/max | ingest CPU % | ingest GC ms | confirm p50/p99 | consumer loop max | consumer CPU % | consumer GC ms | stored p99 | machine busy % | iowait % | RabbitMQ % | PostgreSQL % | SYN retransmits | connections opened / connect max ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...f.load.perSecond.map((sec, s) => {
      const i = atSecond(f.ingest, s);
      const c = atSecond(f.consumer, s);
      const m = atSecond(f.machine, s);
      return `| ${s} | ${sec.count} | ${n(sec.p50Ms, 1)} | ${n(sec.p99Ms, 1)} | ${n(sec.maxMs, 1)} | ${n(sec.ownLag.maxMs, 1)} | ${sec.ownLag.cpuPercent} | ${n(sec.lateMaxMs, 1)} | ${opt(i?.eventLoopP99Ms)} / ${opt(i?.eventLoopMaxMs)} | ${opt(i?.cpuPercent, 0)} | ${opt(i?.gcPauseMs)} | ${opt(i?.confirmP50Ms)} / ${opt(i?.confirmP99Ms)} | ${opt(c?.eventLoopMaxMs)} | ${opt(c?.cpuPercent, 0)} | ${opt(c?.gcPauseMs)} | ${opt(c?.storedP99Ms)} | ${opt(m?.busyPercent, 0)} | ${opt(m?.iowaitPercent, 0)} | ${opt(m?.rabbitmqPercent, 0)} | ${opt(m?.postgresPercent, 0)} | ${opt(m?.synRetransmits, 0)} | ${connectsText(f.load.connects?.[s])} |`;
    }),
  ];
}

export function renderSoak(r: SoakResult): string {
  return [
    `Soak (${r.queueType} queues), ${r.startedAt}: ${n(r.ratePerSecond)} requests/s for ${r.seconds} s, load average ${n(r.machine.loadAverage.start, 2)} → ${n(r.machine.loadAverage.end, 2)}.`,
    `Accepted ${n(r.accepted)}, stored ${n(r.stored)}${r.stored >= r.accepted ? ' (every 200 stored)' : ' (LOSS)'}; warm-up ${latency(r.warmup)}; steady ${latency(r.steady)}; peak RSS ingest ${r.peakRssMb.ingest} MB, consumer ${r.peakRssMb.consumer} MB.`,
    ...(r.failures === undefined || r.failures.length === 0
      ? []
      : [`Failed requests: ${failureList(r.failures)}.`]),
    '',
    '| minute | requests | failed | p50 | p99 | max | ingest RSS | consumer RSS |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.perMinute.map(
      (m) =>
        `| ${m.minute} | ${n(m.requests)} | ${m.failed} | ${n(m.p50Ms, 1)} | ${n(m.p99Ms, 1)} | ${n(m.maxMs, 1)} | ${opt(m.ingestRssMb, 0)} MB | ${opt(m.consumerRssMb, 0)} MB |`,
    ),
  ].join('\n');
}

/**
 * Where each closed-load phase's CPU went, % of one core averaged over the phase. "The rest" is
 * the machine's busy time less what is named: mostly the load generator (and, for the broker
 * ceiling, its publisher process), plus the kernel's loopback work.
 */
function cpuTable(rows: Array<[string, CpuShare | undefined]>): string[] {
  const known = rows.filter((row): row is [string, CpuShare] => row[1] !== undefined);
  if (known.length === 0) return [];
  return [
    'Where the CPU went (average % of one core over the phase; the rest is mostly the load generator):',
    '',
    '| phase | machine busy | server process | RabbitMQ | PostgreSQL | the rest |',
    '| --- | --- | --- | --- | --- | --- |',
    ...known.map(([label, c]) => {
      const server = c.processes.server;
      const rest = c.busyPercent - (server ?? 0) - c.rabbitmqPercent - c.postgresPercent;
      return `| ${label} | ${c.busyPercent} | ${server ?? '—'} | ${c.rabbitmqPercent} | ${c.postgresPercent} | ${rest} |`;
    }),
    '',
  ];
}

/** `--cold-start`: p99 (and max) per second of each run; only the first run meets a cold API. */
export function renderColdStart(r: ColdStartResult, checks: Check[]): string {
  const seconds = Math.max(...r.runs.map((run) => run.perSecond.length));
  return [
    `Cold start (${r.queueType} queue): one fresh ingest API${r.withConsumer === true ? ', a warm consumer storing beside it' : ''}, ${n(r.ratePerSecond)} requests/s for ${seconds} s, three runs in a row, each from a new generator process. Latency p99 / max per second, ms; in brackets how late the generator sent at most.`,
    '',
    ...(r.endToEndPerSecond === undefined
      ? []
      : [`Half of ${n(r.endToEndPerSecond)} stored/s, end to end measured just before.`, '']),
    `| run | failed | ${Array.from({ length: seconds }, (_, s) => `second ${s}`).join(' | ')} |`,
    `| --- | --- | ${Array.from({ length: seconds }, () => '---').join(' | ')} |`,
    ...r.runs.map(
      (run) =>
        `| ${run.run} | ${run.failed}${run.failures === undefined || run.failures.length === 0 ? '' : ` (${run.failures.map((g) => `${g.count} × ${g.reason}`).join(', ')})`} | ${run.perSecond.map((s) => `${n(s.p99Ms, 1)} / ${n(s.maxMs, 1)} (${n(s.lateMaxMs, 1)})`).join(' | ')} |`,
    ),
    '',
    ...checks.map(
      (c) => `- [${c.pass ? 'x' : ' '}] ${c.name}${c.gate ? '' : ' (target, not gated)'}`,
    ),
  ].join('\n');
}

/** `--drain-memory`: one line. */
export function renderDrainMemory(r: DrainMemoryResult): string {
  const settings = Object.keys(r.serviceEnv).length > 0 ? `, ${JSON.stringify(r.serviceEnv)}` : '';
  return `Drain memory (${r.queueType} queue, consumer run with ${r.nodeFlags.join(' ')}${settings}): ${r.stored} of ${r.messages} stored at ${r.rowsPerSecond} rows/s; peak RSS ${r.peakRssMb} MB; V8 heap in use up to ${r.heapUsedMaxMb} MB, reserved up to ${r.heapTotalMaxMb} MB.`;
}

/** `--delivery-outage`: RSS over time with one destination down. */
export function renderDeliveryOutage(r: DeliveryOutageResult, checks: Check[]): string {
  const t = r.up.storedToDelivered;
  return [
    `Delivery outage (${r.queueType} queues), ${r.startedAt}: ${n(r.ratePerSecond)} events/s through the ingest API for ${r.seconds} s, two subscriptions taking every event (maxInFlight ${r.maxInFlight}, the default retry schedule), one destination up, the other not listening the whole time${r.autovacuum === false ? `; autovacuum off on this database, so the bench vacuumed the delivery tables once a minute (${r.vacuums ?? 0} times)` : ''}; load average ${n(r.machine.loadAverage.start, 2)} → ${n(r.machine.loadAverage.end, 2)}.`,
    `Accepted ${n(r.accepted)}, stored ${n(r.stored)}; failed requests: ${n(r.load.failed)}; steady HTTP p99 ${n(r.load.steady.p99Ms, 1)} ms. Up: ${n(r.up.arrived)} arrived, ${n(r.up.recorded)} recorded delivered, stored→delivered p50 / p99 / max ${n(t.p50Ms, 1)} / ${n(t.p99Ms, 1)} / ${n(t.maxMs, 1)} ms. Down: ${n(r.down.attempts)} attempts refused, ${n(r.down.pending)} deliveries waiting in the table, ${n(r.down.failed)} failed.`,
    `Consumer RSS after the ${r.warmupSeconds} s warm-up ${r.startRssMb} MB, at the end ${r.endRssMb} MB, at most ${r.maxRssMb} MB; slope ${n(r.slopeMbPerMinute, 2)} MB/min.`,
    '',
    '| s | consumer RSS MB | up: pending | down: pending |',
    '| --- | --- | --- | --- |',
    ...r.samples.map(
      (s) =>
        `| ${n(s.second)} | ${s.rssMb} | ${opt(s.upPending ?? undefined, 0)} | ${opt(s.downPending ?? undefined, 0)} |`,
    ),
    '',
    ...checks.map(
      (c) => `- [${c.pass ? 'x' : ' '}] ${c.name}${c.gate ? '' : ' (target, not gated)'}`,
    ),
  ].join('\n');
}
