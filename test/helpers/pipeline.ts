import { parseEnv } from '@webhooks/config';
import {
  AmqpConnection,
  assertRejectedQueue,
  assertTopology,
  ConfirmPublisher,
  QueueDepthProbe,
  type RejectedQueue,
  type Topology,
  type TopologyOptions,
  topologyFor,
} from '@webhooks/queue';
import type { LightMyRequestResponse } from 'fastify';
import type { Logger } from 'pino';
import { ConsumerConfig } from '../../services/consumer/src/config.js';
import {
  type ConsumerService,
  createConsumerService,
} from '../../services/consumer/src/consumer-service.js';
import { buildApp } from '../../services/ingest-api/src/app.js';
import { BacklogAdmission } from '../../services/ingest-api/src/backlog-admission.js';
import { queueEventPublisher } from '../../services/ingest-api/src/event-publisher.js';
import { IngestMetrics } from '../../services/ingest-api/src/metrics.js';
import { queueQuarantine } from '../../services/ingest-api/src/quarantine.js';
import type { ProviderSources } from '../../services/ingest-api/src/routes/provider-webhook.js';
import { testLogger } from './test-logger.js';
import { uniqueName } from './test-names.js';

/** Topology names of one test file: nothing shared with other files or runs. */
export function testTopology(options: Partial<TopologyOptions> = {}): Topology {
  return topologyFor({
    exchange: uniqueName('test_webhooks'),
    queue: uniqueName('test_queue'),
    retryDelaysMs: [1000, 2000, 4000],
    queueType: 'classic',
    ...options,
  });
}

export interface IngestHarness {
  app: ReturnType<typeof buildApp>;
  metrics: IngestMetrics;
  /** Present when started with `maxBacklog`. */
  admission: BacklogAdmission | undefined;
  /** POSTs one event with `app.inject`. */
  post(body: Record<string, unknown>): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** The ingest API in this process, wired as `main.ts` wires it, ready to take requests. */
export async function startIngest(options: {
  /** One broker URL, or a cluster's nodes. */
  amqpUrl: string | readonly string[];
  topology: Topology;
  logger?: Logger;
  publishTimeoutMs?: number;
  /** Sources of `POST /webhook/:source`; none by default. */
  providerSources?: ProviderSources;
  /** `MAX_BACKLOG`; unset, admission control is off. */
  maxBacklog?: number;
  /** Read interval of the backlog, ms. Default 1000, as in production. */
  backlogIntervalMs?: number;
  /** Keep refused provider requests in this queue (`KEEP_REJECTED`); unset, none are kept. */
  rejectedQueue?: RejectedQueue;
}): Promise<IngestHarness> {
  const logger = options.logger ?? testLogger();
  const connection = new AmqpConnection({
    url: options.amqpUrl,
    logger,
    connectionName: 'ingest-test',
    initialReconnectDelayMs: 50,
    maxReconnectDelayMs: 250,
  });
  const publisher = new ConfirmPublisher({
    connection,
    logger,
    timeoutMs: options.publishTimeoutMs ?? 5000,
    maxInFlight: 2000,
    setup: (channel) => assertTopology(channel, options.topology),
  });
  const probe = new QueueDepthProbe({ connection, queue: options.topology.queue });
  const { rejectedQueue } = options;
  const quarantinePublisher =
    rejectedQueue === undefined
      ? undefined
      : new ConfirmPublisher({
          connection,
          logger,
          timeoutMs: 5000,
          maxInFlight: 100,
          setup: (channel) => assertRejectedQueue(channel, rejectedQueue),
        });
  connection.start();
  await connection.waitUntilConnected(10_000);
  const metrics = new IngestMetrics({ brokerConnected: () => publisher.ready });
  const admission =
    options.maxBacklog === undefined
      ? undefined
      : new BacklogAdmission({
          readDepth: () => probe.depth(),
          maxBacklog: options.maxBacklog,
          metrics,
          logger,
          intervalMs: options.backlogIntervalMs ?? 1000,
        });
  admission?.start();
  const app = buildApp({
    publisher: queueEventPublisher(publisher, options.topology, metrics),
    metrics,
    logger,
    maxBodyBytes: 1_048_576,
    retryAfterSeconds: 5,
    ...(admission === undefined ? {} : { admission }),
    ...(quarantinePublisher === undefined || rejectedQueue === undefined
      ? {}
      : {
          quarantine: queueQuarantine({
            publish: (message) => quarantinePublisher.publish(message),
            queue: rejectedQueue.name,
            maxInFlight: 100,
            metrics,
            logger,
          }),
        }),
    ...(options.providerSources === undefined ? {} : { providerSources: options.providerSources }),
  });
  return {
    app,
    metrics,
    admission,
    post: (body) =>
      app.inject({
        method: 'POST',
        url: '/webhook',
        headers: { 'content-type': 'application/json' },
        payload: body,
      }),
    close: async () => {
      admission?.stop();
      await app.close();
      await quarantinePublisher?.close();
      await publisher.close();
      await connection.close();
    },
  };
}

/** The consumer in this process, with test-friendly defaults overridable through `env`. */
export function startConsumer(options: {
  /** One broker URL, or a cluster's nodes. */
  amqpUrl: string | readonly string[];
  databaseUrl: string;
  topology: Topology;
  logger?: Logger;
  env?: Record<string, string>;
}): ConsumerService {
  const { topology } = options;
  const config = parseEnv(ConsumerConfig, {
    AMQP_URL: typeof options.amqpUrl === 'string' ? options.amqpUrl : options.amqpUrl.join(','),
    DATABASE_URL: options.databaseUrl,
    EXCHANGE_NAME: topology.exchange,
    QUEUE_NAME: topology.queue,
    QUEUE_TYPE: topology.queueType,
    RETRY_DELAYS_MS: topology.retryQueues.map((q) => q.delayMs).join(','),
    DB_PROBE_INTERVAL_MS: '200',
    ...options.env,
  });
  const service = createConsumerService(config, options.logger ?? testLogger());
  service.start();
  return service;
}
