import type { Database } from '@webhooks/db';
import {
  QueueAdmin,
  type QueueType,
  type Topology,
  type TopologyOptions,
  topologyFor,
} from '@webhooks/queue';
import { type Logger, pino } from 'pino';
import { RabbitCluster } from '../../test/helpers/rabbit-cluster.js';
import type { PeakRssByPhase } from '../types.js';
import { recreateDatabase } from './event-rows.js';
import { type Service, type ServiceDirectory, startFlags, startService } from './services.js';

export interface BenchEnvironmentOptions {
  queueType: QueueType;
  /** The broker's node(s); unused with `cluster`. */
  amqpUrls: string[];
  /** The bench's own database: dropped and migrated at the start. */
  databaseUrl: string;
  /** Start three RabbitMQ nodes of the installed rabbitmq-server and use them instead. */
  cluster: boolean;
  /** A V8 CPU profile per service process, in bench/profiles/. */
  profile: boolean;
  /** Settings added to both services' defaults. */
  serviceEnv: Record<string, string>;
  /** Node flags added after the `start` script's own. */
  extraNodeFlags: string[];
  log: (line: string) => void;
}

/**
 * What every phase shares: the broker (or a cluster started for the run), the database, the
 * topologies the phases declared (deleted at the end), and the services they start, whose peak
 * RSS is noted as each phase stops them.
 */
export class BenchEnvironment {
  readonly queueType: QueueType;
  readonly amqpUrls: string[];
  readonly db: Database;
  readonly admin: QueueAdmin;
  readonly logger: Logger;
  readonly serviceEnv: Record<string, string>;
  readonly extraNodeFlags: string[];
  /** Peak RSS over the phases that count towards it (those of small bodies). */
  readonly peakRssMb = { ingest: 0, consumer: 0 };
  /** Each phase's own peak, to tell which phase sets the overall one. */
  readonly peakRssByPhase: PeakRssByPhase = {};
  readonly #options: BenchEnvironmentOptions;
  readonly #cluster: RabbitCluster | undefined;
  readonly #runId = Date.now().toString(36);
  readonly #topologies: Topology[] = [];

  private constructor(
    options: BenchEnvironmentOptions,
    connected: { amqpUrls: string[]; db: Database; admin: QueueAdmin; logger: Logger },
    cluster: RabbitCluster | undefined,
  ) {
    this.#options = options;
    this.#cluster = cluster;
    this.queueType = options.queueType;
    this.serviceEnv = options.serviceEnv;
    this.extraNodeFlags = options.extraNodeFlags;
    this.amqpUrls = connected.amqpUrls;
    this.db = connected.db;
    this.admin = connected.admin;
    this.logger = connected.logger;
  }

  static async start(options: BenchEnvironmentOptions): Promise<BenchEnvironment> {
    const logger = pino({ level: 'warn' });
    let cluster: RabbitCluster | undefined;
    let db: Database | undefined;
    try {
      if (options.cluster) {
        options.log('cluster: starting three RabbitMQ nodes');
        cluster = await RabbitCluster.start({ log: options.log });
      }
      const amqpUrls = cluster?.urls ?? options.amqpUrls;
      db = await recreateDatabase({ databaseUrl: options.databaseUrl, logger });
      const admin = await QueueAdmin.connect(amqpUrls);
      return new BenchEnvironment(options, { amqpUrls, db, admin, logger }, cluster);
    } catch (err) {
      await db?.close().catch(() => {});
      await cluster?.close().catch(() => {});
      throw err;
    }
  }

  /** A phase's own exchange and queue, named after the run and the phase. */
  topologyOptions(phase: string): TopologyOptions {
    return {
      exchange: `bench_${this.#runId}_${phase}`,
      queue: `bench_${this.#runId}_${phase}`,
      retryDelaysMs: [1000, 2000, 4000],
      queueType: this.queueType,
    };
  }

  /** `topologyOptions(phase)`, remembered to be deleted when the environment closes. */
  freshTopology(phase: string): Topology {
    const topology = topologyFor(this.topologyOptions(phase));
    this.#topologies.push(topology);
    return topology;
  }

  startIngest(topology: Topology): Promise<Service> {
    return this.#startService('ingest API', 'ingest-api', topology);
  }

  startConsumer(topology: Topology): Promise<Service> {
    return this.#startService('consumer', 'consumer', topology);
  }

  /** The Node flags a service runs with: its `start` script's, then `extraNodeFlags`. */
  nodeFlagsOf(service: ServiceDirectory): string[] {
    return [...startFlags(service), ...this.extraNodeFlags];
  }

  /**
   * Stops the services of a phase, after checking they ran to its end and noting their peak RSS
   * (in the overall peak too unless `inOverallPeak` is false).
   */
  async stopServices(
    phase: string,
    services: { ingest?: Service; consumer?: Service },
    { inOverallPeak = true } = {},
  ): Promise<void> {
    const { ingest, consumer } = services;
    try {
      ingest?.running.assertRunning();
      consumer?.running.assertRunning();
    } finally {
      const peaks = {
        ingest: ingest?.running.peakRssMb() ?? this.peakRssByPhase[phase]?.ingest,
        consumer: consumer?.running.peakRssMb() ?? this.peakRssByPhase[phase]?.consumer,
      };
      this.peakRssByPhase[phase] = peaks;
      if (inOverallPeak) {
        this.peakRssMb.ingest = Math.max(this.peakRssMb.ingest, peaks.ingest ?? 0);
        this.peakRssMb.consumer = Math.max(this.peakRssMb.consumer, peaks.consumer ?? 0);
      }
      await ingest?.running.stop();
      await consumer?.running.stop();
    }
  }

  /** Deletes the phases' topologies, then closes the connections and the cluster; every step runs. */
  async close(): Promise<void> {
    for (const topology of this.#topologies) {
      await this.admin.deleteTopology(topology).catch(() => {});
    }
    const failures: unknown[] = [];
    for (const step of [() => this.admin.close(), () => this.db.close()]) {
      await step().catch((err: unknown) => failures.push(err));
    }
    if (this.#cluster !== undefined) {
      await this.#cluster.close().catch((err: unknown) => failures.push(err));
    }
    if (failures.length > 0) throw new AggregateError(failures, 'bench environment: close failed');
  }

  #startService(name: string, service: ServiceDirectory, topology: Topology): Promise<Service> {
    return startService({
      name,
      service,
      leadingNodeFlags: this.#options.profile
        ? ['--cpu-prof', '--cpu-prof-dir=bench/profiles']
        : [],
      extraNodeFlags: this.extraNodeFlags,
      env: {
        ...this.serviceEnv,
        AMQP_URL: this.amqpUrls.join(','),
        DATABASE_URL: this.#options.databaseUrl,
        EXCHANGE_NAME: topology.exchange,
        QUEUE_NAME: topology.queue,
        QUEUE_TYPE: topology.queueType,
        LOG_LEVEL: 'warn',
        HOST: '127.0.0.1',
      },
    });
  }
}
