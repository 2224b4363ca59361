import { parseEnv } from '@webhooks/config';
import {
  settingsOfTopology,
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
import { IngestConfig } from '../../services/ingest-api/src/config.js';
import {
  createIngestService,
  type IngestService,
} from '../../services/ingest-api/src/ingest-service.js';
import { testLogger } from './test-logger.js';
import { uniqueName } from './test-names.js';
import { waitFor } from './wait-for.js';

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
  app: IngestService['app'];
  metrics: IngestService['metrics'];
  /** Present when started with `MAX_BACKLOG` set (the harness turns it off by default). */
  admission: IngestService['admission'];
  /** POSTs one event with `app.inject`. */
  post(body: Record<string, unknown>): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/**
 * The ingest API in this process, built by the service's own factory from settings, and
 * connected to the broker: ready to take requests. `env` overrides settings.
 */
export async function startIngest(options: {
  /** One broker URL, or a cluster's nodes. */
  amqpUrl: string | readonly string[];
  topology: Topology;
  logger?: Logger;
  env?: Record<string, string>;
}): Promise<IngestHarness> {
  const config = parseEnv(IngestConfig, {
    AMQP_URL: typeof options.amqpUrl === 'string' ? options.amqpUrl : options.amqpUrl.join(','),
    ...settingsOfTopology(options.topology),
    // Off unless a test turns them on: most tests want neither shedding nor kept refusals.
    MAX_BACKLOG: '0',
    KEEP_REJECTED: 'false',
    ...options.env,
  });
  // Tests that cut the broker expect it back within a fraction of a second.
  const service = createIngestService(config, options.logger ?? testLogger(), {
    initialReconnectDelayMs: 50,
    maxReconnectDelayMs: 250,
  });
  service.start();
  await waitFor(
    'the ingest API to reach the broker',
    async () => (await service.app.inject('/readyz')).statusCode === 200,
    { timeoutMs: 10_000 },
  );
  return {
    app: service.app,
    metrics: service.metrics,
    admission: service.admission,
    post: (body) =>
      service.app.inject({
        method: 'POST',
        url: '/webhook',
        headers: { 'content-type': 'application/json' },
        payload: body,
      }),
    close: () => service.stop(),
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
  const config = parseEnv(ConsumerConfig, {
    AMQP_URL: typeof options.amqpUrl === 'string' ? options.amqpUrl : options.amqpUrl.join(','),
    DATABASE_URL: options.databaseUrl,
    ...settingsOfTopology(options.topology),
    DB_PROBE_INTERVAL_MS: '200',
    // Off unless a test turns it on with a name of its own: no test publishes to the shared
    // default exchange, nor sees another's events.
    EVENTS_EXCHANGE: '',
    ...options.env,
  });
  const service = createConsumerService(config, options.logger ?? testLogger());
  service.start();
  return service;
}
