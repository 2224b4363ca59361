import type { FailureGroup } from './lib/failures.js';
import type { LatencySummary } from './lib/latency-seconds.js';
import type { CpuShare, MachineSecond } from './lib/machine-samples.js';
import type { OpenLoopResult } from './lib/open-loop.js';
import type { ServiceSecond } from './lib/service-samples.js';
import type { StoredToDelivered } from './lib/subscriptions.js';

export interface ClosedLoad {
  requestsPerSecond: number;
  total: number;
  ok: number;
  non2xx: number;
  errors: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Where the CPU went during the load (set by the phase, not the generator). */
  cpu?: CpuShare | undefined;
}

/** Confirmed persistent publishes straight to the broker, `concurrency` outstanding. */
/** Means over a phase, from the ingest's own histograms. */
export interface ServerTime {
  /** `POST /webhook` as Fastify timed it, from the request's arrival to the answer. */
  requestMeanMs: number;
  /** Of which waiting for the broker's confirm. */
  confirmMeanMs: number;
}

export interface BrokerCeiling {
  concurrency: number;
  publishesPerSecond: number;
  confirmed: number;
  failed: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Messages in the queue afterwards: must equal `confirmed`. */
  queued: number;
  cpu?: CpuShare | undefined;
}

/** The limits of the same run, and how close end to end came to what they allow together. */
export interface Capacity {
  bareHttpPerSecond: number;
  brokerPerSecond: number;
  drainPerSecond: number;
  /** 1 / (1/bare HTTP + 1/broker ceiling + 1/drain), events/s. */
  composedLimitPerSecond: number;
  /** The best level of the end-to-end curve, stored/s, and its connections. */
  endToEndPerSecond: number;
  endToEndConnections: number;
  /** End to end ÷ the composed limit. */
  endToEndShare: number;
}

/** CPU time per request, µs of each process, from /proc over the closed-load phases. */
export interface CpuPerRequest {
  /** The ingest API over the ingest phase, per request it accepted (200). */
  ingestMicros: number | undefined;
  /** The bare server over the ceiling phase, per request it answered. */
  bareHttpMicros: number | undefined;
  /**
   * The bare server held to the ingest phase's rate on the same connections, per request
   * (absent in results written before it existed).
   */
  bareHttpAtIngestRateMicros?: number | undefined;
}

/** One point of the end-to-end curve. */
export interface EndToEnd {
  connections: number;
  load: ClosedLoad;
  accepted: number;
  stored: number;
  persistedPerSecond: number;
  storedP50Ms: number;
  storedP99Ms: number;
}

/** An open-loop phase with the services' own per-second samples beside the generator's. */
export interface FixedRate {
  load: OpenLoopResult;
  accepted: number;
  stored: number;
  storedP50Ms: number;
  storedP99Ms: number;
  ingest: ServiceSecond[];
  consumer: ServiceSecond[];
  machine: MachineSecond[];
}

export interface SoakMinute {
  minute: number;
  requests: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  ingestRssMb: number | undefined;
  consumerRssMb: number | undefined;
}

export interface BenchResult {
  startedAt: string;
  mode: 'quick' | 'full';
  queueType: 'classic' | 'quorum';
  /** RabbitMQ nodes the services were given (3 for `--cluster`). */
  brokerNodes: number;
  /**
   * Classic runs: the storage format (1 or 2) the broker kept the queues in, from its management
   * API; `null` when it could not tell. Absent for quorum runs.
   */
  classicQueueFormat?: number | null;
  /** Settings added to both services' defaults for this run. */
  serviceEnv: Record<string, string>;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    /** 1-minute load average when the run started and ended (others' work on the machine). */
    loadAverage: { start: number; end: number };
  };
  plan: Plan;
  ceiling: ClosedLoad;
  /** The bare server held to the ingest phase's rate (absent in results written before it existed). */
  ceilingAtIngestRate?: ClosedLoad;
  brokerCeiling: BrokerCeiling;
  /**
   * `accepted`: 200s counted by the API itself (the load generator's `ok` misses requests still
   * in flight when its window closes); `queued`: messages in the queue afterwards.
   */
  ingest: ClosedLoad & {
    accepted: number;
    queued: number;
    /** Absent in results written before it existed. */
    serverTime?: ServerTime | undefined;
  };
  /** The largest connection count of the curve. */
  endToEnd: EndToEnd;
  endToEndCurve: EndToEnd[];
  drain: {
    messages: number;
    stored: number;
    rowsPerSecond: number;
    /** The consumer's CPU time per stored event, µs (absent where /proc is not available). */
    consumerCpuMicros?: number | undefined;
  };
  /** What the run measured the machine's capacity to be (absent in results written before it existed). */
  capacity?: Capacity | undefined;
  /** CPU time per request of the ingest and bare HTTP phases (absent in results written before it existed). */
  cpuPerRequest?: CpuPerRequest | undefined;
  /**
   * Requests per second of the fixed-rate phases: `--rate`, or half of `capacity`'s end to end
   * (absent in results written before it existed: `plan.fixedRate` was the rate).
   */
  fixedRatePerSecond?: number | undefined;
  /** The broker alone at the fixed rate, consumer running (absent in --quick). */
  brokerFixedRate?: FixedRate | undefined;
  fixedRate: FixedRate;
  /** Bodies of 900 KiB (absent in results written before it existed). */
  largeBodies?: LargeBodies | undefined;
  /** Deliveries to subscriptions (absent in results written before it existed). */
  delivery?: DeliveryResult | undefined;
  /** Peak RSS over the phases of small bodies (the large-bodies phase has its own). */
  peakRssMb: { ingest: number; consumer: number };
  /** Peak RSS of each phase's own processes (absent in results written before it existed). */
  peakRssByPhase?: PeakRssByPhase;
}

/** Large bodies through the API with the consumer stopped, then drained by it alone. */
export interface LargeBodies {
  bodies: number;
  bodyBytes: number;
  accepted: number;
  stored: number;
  /** From the consumer's start until every accepted body was stored. */
  seconds: number;
  retried: number;
  deadLettered: number;
  /** Handed back to the queue unread because `PREFETCH_MAX_BYTES` was reached (taken later). */
  handedBack: number;
  /** Largest `unacked_bytes` the consumer reported, sampled every 100 ms (MiB). */
  unackedMaxMb: number;
  peakRssMb: { ingest?: number | undefined; consumer?: number | undefined };
}

/**
 * A backlog of `events` stored for `subscriptions` paused subscriptions, then sent by the
 * consumer alone once they are made active: the sender on its own.
 */
export interface DeliveryDrain {
  subscriptions: number;
  /** Ordered per key (`ordering.key`) with this many keys interleaved; undefined: unordered. */
  orderingKeys?: number | undefined;
  events: number;
  /** Distinct deliveries that reached the receiver, all subscriptions together. */
  arrived: number;
  /** Recorded as delivered in the table afterwards. */
  recorded: number;
  /** From the subscriptions made active to the last arrival. */
  seconds: number;
  /** All subscriptions together. */
  deliveriesPerSecond: number;
  /** Per subscription: events sent to every subscription per second. */
  eventsPerSecond: number;
  /** CPU time per delivery from activation until every delivery was recorded, µs. */
  consumerCpuMicros: number | undefined;
  postgresCpuMicros: number | undefined;
  receiverCpuMicros: number | undefined;
  cpu: CpuShare | undefined;
}

/** Deliveries beside the closed end-to-end load, the subscriptions taking every event stored. */
export interface DeliveryLive {
  subscriptions: number;
  connections: number;
  accepted: number;
  stored: number;
  /** While the load ran: rows stored per second, from the first row to the load's end. */
  storedPerSecond: number;
  /** While the load ran: deliveries that arrived per second, all subscriptions together. */
  deliveriesPerSecond: number;
  /** Per subscription. */
  eventsPerSecond: number;
  /** Deliveries still to arrive when the load stopped, and seconds until the last arrived. */
  behindAtEnd: number;
  catchUpSeconds: number;
  /** Distinct deliveries that arrived, and those recorded as delivered; both should be `stored` × `subscriptions`. */
  arrived: number;
  recorded: number;
}

/** One subscription, events through the ingest API at a fixed rate (open loop). */
export interface DeliveryLatency {
  ratePerSecond: number;
  /** What the run could store and deliver at once, 1 / (1/end to end + 1/drain): twice the rate. */
  limitPerSecond: number;
  seconds: number;
  warmupSeconds: number;
  load: Pick<OpenLoopResult, 'achievedPerSecond' | 'failed'> & { steady: LatencySummary };
  accepted: number;
  stored: number;
  arrived: number;
  recorded: number;
  /** Stored → delivered over every event, and over those stored after the warm-up. */
  storedToDelivered: StoredToDelivered;
  steadyStoredToDelivered: StoredToDelivered;
}

/** The delivery phase: backlog drains, deliveries beside live ingest, latency at half rate. */
export interface DeliveryResult {
  /** Every subscription's `maxInFlight`. */
  maxInFlight: number;
  /**
   * Whether the database runs autovacuum. Either way every delivery run starts after a VACUUM
   * of the delivery tables (and the events), so that no run pays for the dead rows of the last.
   */
  autovacuum?: boolean | undefined;
  /** The receiver verified one delivery in this many with `standardwebhooks`. */
  verifyEvery: number;
  verified: number;
  notVerified: number;
  /** One subscription, then three. */
  drain: DeliveryDrain[];
  /** One subscription ordered per key, the same backlog as `drain`'s first, 1,000 keys. */
  orderedDrain?: DeliveryDrain | undefined;
  live: DeliveryLive[];
  latency: DeliveryLatency;
  /**
   * The same latency run again while another subscription is backfilled with the first drain's
   * events (made in pages, then sent at full speed): how much the live deliveries slow.
   * Absent in results written before it existed.
   */
  besideBackfill?: DeliveryBesideBackfill | undefined;
}

export interface DeliveryBesideBackfill {
  latency: DeliveryLatency;
  /** Deliveries the backfill made, and how long making them took. */
  backfilled: number;
  backfillSeconds: number;
  /** Of the backfilled deliveries, how many arrived by the end of the live run. */
  backfillArrivedDuringLive: number;
}

/** `--delivery-outage`: one destination down for the whole load, another up. */
export interface DeliveryOutageResult {
  startedAt: string;
  mode: 'delivery-outage';
  queueType: 'classic' | 'quorum';
  serviceEnv: Record<string, string>;
  machine: BenchResult['machine'];
  ratePerSecond: number;
  seconds: number;
  /** Samples before this are the warm-up, left out of `startRssMb` and the slope. */
  warmupSeconds: number;
  maxInFlight: number;
  /** Whether the database runs autovacuum; where it does not, the bench vacuums once a minute. */
  autovacuum?: boolean | undefined;
  /** The bench's own vacuums of the delivery tables during the load. */
  vacuums?: number | undefined;
  accepted: number;
  stored: number;
  load: Pick<OpenLoopResult, 'achievedPerSecond' | 'failed'> & { steady: LatencySummary };
  /** The destination that is up: every delivery arrived and was recorded; its latency. */
  up: { arrived: number; recorded: number; storedToDelivered: StoredToDelivered };
  /** The one down: deliveries waiting in the table at the end, attempts it was sent. */
  down: { pending: number; failed: number; attempts: number };
  /**
   * Every few seconds: the consumer's RSS, and each subscription's deliveries not yet delivered
   * (the live one's show whether the dead one slows it).
   */
  samples: Array<{
    second: number;
    rssMb: number;
    upPending: number | null;
    downPending: number | null;
  }>;
  startRssMb: number;
  endRssMb: number;
  maxRssMb: number;
  /** Least-squares slope of RSS after the warm-up, MB per minute. */
  slopeMbPerMinute: number;
}

/** Phase → peak RSS (MB) of the services that phase ran. */
export type PeakRssByPhase = Record<
  string,
  { ingest?: number | undefined; consumer?: number | undefined }
>;

export interface Plan {
  loadSeconds: number;
  connections: number;
  e2eSeconds: number;
  e2eConnections: number[];
  drainMessages: number;
  /** `--rate`: the fixed-rate phases' requests per second; absent, half of the run's end to end. */
  fixedRate?: number | undefined;
  fixedSeconds: number;
  warmupSeconds: number;
  brokerFixedRate: boolean;
  /** Events stored for each delivery backlog. */
  deliveryEvents: number;
  /** Seconds of the delivery latency run at half the one-subscription rate. */
  deliveryLatencySeconds: number;
}

/** One run of the generator against the same ingest API (`--cold-start`). */
export interface ColdStartRun {
  run: number;
  failed: number;
  /** Absent in results written before they were recorded. */
  failures?: FailureGroup[] | undefined;
  /** Over the run's 5 s (absent in results written before it existed). */
  p99Ms?: number | undefined;
  perSecond: Array<{ p50Ms: number; p99Ms: number; maxMs: number; lateMaxMs: number }>;
}

export interface ColdStartResult {
  startedAt: string;
  queueType: 'classic' | 'quorum';
  ratePerSecond: number;
  /** End to end stored/s measured first, the rate being half of it (absent with `--rate`). */
  endToEndPerSecond?: number | undefined;
  /** A warm consumer stored the events meanwhile (absent in results written before it did). */
  withConsumer?: boolean;
  runs: ColdStartRun[];
}

/** `--drain-memory`: a drain with the consumer's memory sampled twice a second. */
export interface DrainMemoryResult {
  startedAt: string;
  queueType: 'classic' | 'quorum';
  /** The consumer's Node flags: its `start` script's, then `BENCH_NODE_FLAGS`. */
  nodeFlags: string[];
  serviceEnv: Record<string, string>;
  messages: number;
  stored: number;
  rowsPerSecond: number;
  /** The consumer's VmHWM (absent where /proc is not available). */
  peakRssMb: number | undefined;
  /** Largest V8 heap in use and reserved, from `nodejs_heap_size_*_bytes`. */
  heapUsedMaxMb: number;
  heapTotalMaxMb: number;
}

export interface SoakResult {
  startedAt: string;
  mode: 'soak';
  queueType: 'classic' | 'quorum';
  serviceEnv: Record<string, string>;
  machine: BenchResult['machine'];
  ratePerSecond: number;
  seconds: number;
  accepted: number;
  stored: number;
  warmup: OpenLoopResult['warmup'];
  steady: OpenLoopResult['steady'];
  /** Failed requests by status or error (absent in results written before it existed). */
  failures?: FailureGroup[] | undefined;
  perMinute: SoakMinute[];
  peakRssMb: { ingest: number; consumer: number };
}

export interface Check {
  name: string;
  pass: boolean;
  /** Gates `--quick` (ratios and loss); absolute targets are reported, not gated. */
  gate: boolean;
}
