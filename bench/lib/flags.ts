import { parseArgs } from 'node:util';
import type { QueueType } from '@webhooks/queue';
import type { Plan } from '../types.js';

/** What `pnpm bench` was asked for on its command line. */
export interface BenchFlags {
  /** Short phases, used by CI; its gates are ratios and loss only. */
  quick: boolean;
  /** Writes a V8 CPU profile per service process to bench/profiles/ (see bench/top-functions.ts). */
  profile: boolean;
  /**
   * The queue type every phase uses: `classic` (one node's figures, comparable with earlier
   * runs) or `quorum` (the services' default; always so with --cluster).
   */
  queueType: QueueType;
  /** Three RabbitMQ nodes started beside the machine's own, given to the services. */
  cluster: boolean;
  /**
   * The fixed-rate phases' requests per second (default: half of the run's end-to-end rate; the
   * soak's 1,500; the delivery outage's 500).
   */
  rate: number | undefined;
  /** The fixed-rate phases' seconds (default 60, 5 with --quick; the soak's 600; the delivery outage's 300). */
  seconds: number | undefined;
  /** Only a long fixed-rate run: p99 and RSS per minute, every 200 stored. */
  soak: boolean;
  /**
   * Only a cold start: one fresh ingest API, the fixed-rate generator run against it three times
   * in a row (5 s each, a new generator process each time), latency second by second.
   */
  coldStart: boolean;
  /** Only a drain, the consumer's memory sampled twice a second: peak RSS, V8 heap, rows/s. */
  drainMemory: boolean;
  /**
   * Only deliveries with one destination down under steady load (default 500 events/s for
   * 300 s; `--rate`/`--seconds` apply): the consumer's RSS must stay flat.
   */
  deliveryOutage: boolean;
}

export function parseFlags(args: string[]): BenchFlags {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'queue-type': { type: 'string', default: 'classic' },
      cluster: { type: 'boolean', default: false },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      soak: { type: 'boolean', default: false },
      'cold-start': { type: 'boolean', default: false },
      'drain-memory': { type: 'boolean', default: false },
      'delivery-outage': { type: 'boolean', default: false },
    },
  });
  const optionalNumber = (value: string | undefined) =>
    value === undefined ? undefined : Number(value);
  return {
    quick: values.quick,
    profile: values.profile,
    queueType: values['queue-type'] === 'quorum' || values.cluster ? 'quorum' : 'classic',
    cluster: values.cluster,
    rate: optionalNumber(values.rate),
    seconds: optionalNumber(values.seconds),
    soak: values.soak,
    coldStart: values['cold-start'],
    drainMemory: values['drain-memory'],
    deliveryOutage: values['delivery-outage'],
  };
}

/** The benchmark's durations and sizes: short with --quick, the runs of record without. */
export function planFor(flags: BenchFlags): Plan {
  return flags.quick
    ? {
        loadSeconds: 4,
        connections: 100,
        e2eSeconds: 5,
        e2eConnections: [100],
        drainMessages: 20_000,
        ...(flags.rate === undefined ? {} : { fixedRate: flags.rate }),
        fixedSeconds: flags.seconds ?? 5,
        warmupSeconds: 1,
        brokerFixedRate: false,
        deliveryEvents: 5000,
        deliveryLatencySeconds: 5,
      }
    : {
        loadSeconds: 10,
        connections: 100,
        e2eSeconds: 15,
        e2eConnections: [64, 128, 256],
        drainMessages: 100_000,
        ...(flags.rate === undefined ? {} : { fixedRate: flags.rate }),
        fixedSeconds: flags.seconds ?? 60,
        warmupSeconds: 5,
        brokerFixedRate: true,
        deliveryEvents: 30_000,
        deliveryLatencySeconds: 30,
      };
}
