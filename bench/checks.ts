import { INGEST_BROKER_TARGET } from './lib/capacity.js';
import { n, opt, subscriptions } from './lib/figures.js';
import type {
  BenchResult,
  Check,
  ColdStartResult,
  DeliveryOutageResult,
  DeliveryResult,
  LargeBodies,
} from './types.js';

/**
 * The targets of docs/performance.md; loss and a ratio floor gate `--quick`, absolutes do not.
 * Loss is fewer events kept than acknowledged; more is not loss (a publish that timed out, and
 * was answered 503, may still reach the broker).
 */
export function checkTargets(r: BenchResult): Check[] {
  const ratio = r.ingest.requestsPerSecond / r.ceiling.requestsPerSecond;
  const brokerRatio = r.ingest.requestsPerSecond / r.brokerCeiling.publishesPerSecond;
  const steady = r.fixedRate.load.steady;
  const perSecond = r.fixedRatePerSecond ?? r.plan.fixedRate ?? 0;
  const rate =
    r.plan.fixedRate === undefined
      ? `at half capacity (${n(perSecond)}/s)`
      : `at ${n(perSecond)}/s`;
  return [
    // The floor gates --quick: far below anything measured, so only a regression trips it.
    {
      name: `ingest ≥ 0.05 × bare HTTP, regression floor (${n(ratio, 2)})`,
      pass: ratio >= 0.05,
      gate: true,
    },
    {
      name: `ingest ≥ ${INGEST_BROKER_TARGET} × broker ceiling (${n(brokerRatio, 2)})`,
      pass: brokerRatio >= INGEST_BROKER_TARGET,
      gate: false,
    },
    ...cpuChecks(r),
    ...capacityChecks(r),
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
    { name: 'drain ≥ 15,000 rows/s', pass: r.drain.rowsPerSecond >= 15_000, gate: false },
    {
      name: `fixed rate ${rate}, steady state: ingest p99 ≤ 25 ms (${n(steady.p99Ms, 1)})`,
      pass: steady.p99Ms <= 25,
      gate: false,
    },
    {
      name: `fixed rate ${rate}, steady state: ingest p99.9 ≤ 100 ms (${n(steady.p999Ms, 1)})`,
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
    // Against the best level of the curve, as the delivery latency rate is.
    ...deliveryChecks(r.delivery, r.capacity?.endToEndPerSecond ?? r.endToEnd.persistedPerSecond),
  ];
}

/**
 * Delivery rates as ratios of the end-to-end stored rate of the same run, so that they hold on
 * any machine: the sender must keep up with what storing makes. A backlog drain per
 * subscription (events delivered to every subscription per second) is what they are about; the
 * live runs are reported. --quick is gated on every delivery arriving, every sampled signature
 * verifying, and a floor far below the target.
 */
export function deliveryChecks(d: DeliveryResult | undefined, storedPerSecond: number): Check[] {
  if (d === undefined) return [];
  const ratio = (perSecond: number) => perSecond / Math.max(1, storedPerSecond);
  const one = d.drain.find((drain) => drain.subscriptions === 1);
  const three = d.drain.find((drain) => drain.subscriptions === 3);
  const complete = (arrived: number, recorded: number, expected: number) =>
    arrived >= expected && recorded >= expected;
  const l = d.latency;
  const ordered = d.orderedDrain;
  const orderedRatio =
    ordered === undefined || one === undefined
      ? undefined
      : ordered.deliveriesPerSecond / Math.max(1, one.deliveriesPerSecond);
  return [
    ...d.drain.map((drain) => ({
      name: `delivery drain, ${subscriptions(drain.subscriptions)}: every delivery arrived and is recorded`,
      pass: complete(drain.arrived, drain.recorded, drain.events * drain.subscriptions),
      gate: true,
    })),
    ...(ordered === undefined
      ? []
      : [
          {
            name: `delivery drain ordered per key, ${n(ordered.orderingKeys ?? 0)} keys: every delivery arrived and is recorded`,
            pass: complete(ordered.arrived, ordered.recorded, ordered.events),
            gate: true,
          },
        ]),
    ...(orderedRatio === undefined
      ? []
      : [
          {
            name: `delivery drain ordered per key ≥ 0.5 × unordered deliveries/s, 1 subscription (${n(orderedRatio, 2)})`,
            pass: orderedRatio >= 0.5,
            gate: false,
          },
        ]),
    ...d.live.map((live) => ({
      name: `delivery beside live ingest, ${subscriptions(live.subscriptions)}: every stored event delivered to each`,
      pass:
        live.stored >= live.accepted &&
        complete(live.arrived, live.recorded, live.stored * live.subscriptions),
      gate: true,
    })),
    {
      name: 'delivery latency run: every 200 stored and delivered',
      pass: l.stored >= l.accepted && complete(l.arrived, l.recorded, l.stored),
      gate: true,
    },
    {
      name: `delivery signatures: ${d.verified} sampled verified with standardwebhooks, ${d.notVerified} refused`,
      pass: d.verified > 0 && d.notVerified === 0,
      gate: true,
    },
    ...(one === undefined
      ? []
      : [
          {
            name: `delivery drain, 1 subscription ≥ 0.1 × end-to-end stored/s, regression floor (${n(ratio(one.eventsPerSecond), 2)})`,
            pass: ratio(one.eventsPerSecond) >= 0.1,
            gate: true,
          },
          {
            name: `delivery drain, 1 subscription ≥ 0.6 × end-to-end stored/s (${n(ratio(one.eventsPerSecond), 2)})`,
            pass: ratio(one.eventsPerSecond) >= 0.6,
            gate: false,
          },
        ]),
    ...(three === undefined
      ? []
      : [
          {
            name: `delivery drain, 3 subscriptions ≥ 0.35 × end-to-end stored/s each (${n(ratio(three.eventsPerSecond), 2)})`,
            pass: ratio(three.eventsPerSecond) >= 0.35,
            gate: false,
          },
        ]),
    ...(d.besideBackfill === undefined
      ? []
      : [
          {
            name: `live deliveries beside a backfill at full speed: steady p50 ≤ 1.2 × without it (${n(d.besideBackfill.latency.steadyStoredToDelivered.p50Ms / Math.max(0.001, l.steadyStoredToDelivered.p50Ms), 2)})`,
            pass:
              d.besideBackfill.latency.steadyStoredToDelivered.p50Ms <=
              1.2 * l.steadyStoredToDelivered.p50Ms,
            gate: false,
          },
        ]),
    {
      name: `delivery at half the store-and-deliver limit (${n(l.ratePerSecond)}/s): stored → delivered p99 ≤ 100 ms (${n(l.storedToDelivered.p99Ms, 1)})`,
      pass: l.storedToDelivered.p99Ms <= 100,
      gate: false,
    },
  ];
}

/** Ratios of the limits measured in the same run: they hold on any machine. */
export function capacityChecks(r: Pick<BenchResult, 'capacity'>): Check[] {
  const c = r.capacity;
  if (c === undefined || c.composedLimitPerSecond <= 0) return [];
  const share = n(c.endToEndShare, 2);
  return [
    {
      name: `end to end (best, ${c.endToEndConnections} connections) ≥ 0.1 × composed limit, regression floor (${share})`,
      pass: c.endToEndShare >= 0.1,
      gate: true,
    },
    {
      name: `end to end (best, ${c.endToEndConnections} connections) ≥ 0.85 × composed limit of ${n(c.composedLimitPerSecond)}/s (${share})`,
      pass: c.endToEndShare >= 0.85,
      gate: false,
    },
  ];
}

/** The ingest API's CPU per accepted request against the bare server's per request. */
export function cpuChecks(r: Pick<BenchResult, 'cpuPerRequest'>): Check[] {
  const ingest = r.cpuPerRequest?.ingestMicros;
  const bare = r.cpuPerRequest?.bareHttpMicros;
  if (ingest === undefined || bare === undefined || bare <= 0) return [];
  const ratio = ingest / bare;
  return [
    {
      name: `ingest CPU per request ≤ 2.5 × the bare server's (${n(ingest)} / ${n(bare)} µs = ${n(ratio, 2)})`,
      pass: ratio <= 2.5,
      gate: false,
    },
  ];
}

/** `--cold-start`: the first run against a just-started API, against the last (warm) one. */
export function checkColdStart(r: ColdStartResult): Check[] {
  const first = r.runs[0]?.p99Ms;
  const warm = r.runs.at(-1)?.p99Ms;
  if (first === undefined || warm === undefined || r.runs.length < 2) return [];
  return [
    {
      name: `cold start: first ${COLD_START_SECONDS} s p99 ≤ 3 × the warm run's (${n(first, 1)} / ${n(warm, 1)} ms)`,
      pass: first <= 3 * warm,
      gate: false,
    },
  ];
}

/** Seconds of each cold-start run. */
const COLD_START_SECONDS = 5;

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

/** RSS may end at most this much above where it stood after the warm-up. */
const OUTAGE_MAX_GROWTH_MB = 50;
/** Steady growth: a slope above this over the samples after the warm-up. */
const OUTAGE_MAX_SLOPE_MB_PER_MINUTE = 5;

/**
 * `--delivery-outage`, every check a gate: nothing lost, the live destination served, the dead
 * one's backlog in the table, and the consumer's RSS flat (a backlog held in memory would grow
 * it by the rate times what each delivery holds).
 */
export function checkDeliveryOutage(r: DeliveryOutageResult): Check[] {
  return [
    { name: 'every 200 is stored', pass: r.stored >= r.accepted, gate: true },
    {
      name: 'every event delivered to the destination that is up, and recorded',
      pass: r.up.arrived >= r.stored && r.up.recorded >= r.stored,
      gate: true,
    },
    {
      name: "the down destination's deliveries all wait in the table",
      pass: r.down.pending + r.down.failed >= r.stored,
      gate: true,
    },
    {
      name: `consumer RSS flat: end − start < ${OUTAGE_MAX_GROWTH_MB} MB (${n(r.endRssMb - r.startRssMb)})`,
      pass: r.endRssMb - r.startRssMb < OUTAGE_MAX_GROWTH_MB,
      gate: true,
    },
    {
      name: `consumer RSS flat: no steady growth, slope ≤ ${OUTAGE_MAX_SLOPE_MB_PER_MINUTE} MB/min (${n(r.slopeMbPerMinute, 2)})`,
      pass: r.slopeMbPerMinute <= OUTAGE_MAX_SLOPE_MB_PER_MINUTE,
      gate: true,
    },
  ];
}
