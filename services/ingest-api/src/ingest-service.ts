import {
  AmqpConnection,
  type AmqpConnectionOptions,
  ConfirmPublisher,
  type Topology,
  topologyFromSettings,
} from '@webhooks/queue';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { IngestConfig } from './config.js';
import { queueEventPublisher } from './event-publisher.js';
import { IngestMetrics } from './metrics.js';

export interface IngestService {
  readonly app: FastifyInstance;
  readonly metrics: IngestMetrics;
  readonly topology: Topology;
  /** Connects to the broker in the background; requests get 503 until it is connected. */
  start(): void;
  /** Stops taking requests (those in flight finish), then closes the broker. Idempotent. */
  stop(): Promise<void>;
}

/** How fast the broker connection is retried; tests that cut it shorten the waits. */
export type ReconnectDelays = Pick<
  AmqpConnectionOptions,
  'initialReconnectDelayMs' | 'maxReconnectDelayMs'
>;

/**
 * Wires the ingest API from its settings: broker connection, confirm publisher, topology and
 * the HTTP app. Opens nothing until `start()`; never listens.
 */
export function createIngestService(
  config: IngestConfig,
  logger: Logger,
  reconnect: ReconnectDelays = {},
): IngestService {
  const topology = topologyFromSettings(config);
  const connection = new AmqpConnection({
    url: config.AMQP_URL,
    logger,
    connectionName: 'ingest-api',
    ...reconnect,
  });
  const publisher = new ConfirmPublisher({
    connection,
    logger,
    timeoutMs: config.PUBLISH_TIMEOUT_MS,
    maxInFlight: config.MAX_IN_FLIGHT,
    topology,
  });
  const metrics = new IngestMetrics({ brokerConnected: () => publisher.ready });
  const app = buildApp({
    publisher: queueEventPublisher(publisher, topology, metrics),
    metrics,
    logger,
    maxBodyBytes: config.MAX_BODY_BYTES,
    maxJsonDepth: config.MAX_JSON_DEPTH,
    timeouts: {
      requestMs: config.REQUEST_TIMEOUT_MS,
      headersMs: config.HEADERS_TIMEOUT_MS,
      keepAliveMs: config.KEEP_ALIVE_TIMEOUT_MS,
    },
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    providerSources: {
      sources: config.WEBHOOK_SOURCES,
      allowUnknown: config.WEBHOOK_ALLOW_UNKNOWN_SOURCES,
    },
  });

  let stopped: Promise<void> | undefined;
  const stop = async () => {
    // Reverse order of opening; each step runs even if an earlier one failed.
    const failures: unknown[] = [];
    const step = async (name: string, run: () => Promise<void>) => {
      try {
        await run();
      } catch (err) {
        logger.error({ err, step: name }, 'shutdown step failed');
        failures.push(err);
      }
    };
    await step('close HTTP', () => app.close());
    await step('close publisher', () => publisher.close(config.PUBLISH_TIMEOUT_MS));
    await step('close broker connection', () => connection.close());
    if (failures.length > 0) throw new AggregateError(failures, 'ingest shutdown incomplete');
  };

  return {
    app,
    metrics,
    topology,
    start: () => connection.start(),
    stop: () => {
      stopped ??= stop();
      return stopped;
    },
  };
}
