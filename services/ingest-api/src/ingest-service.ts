import { shutdownOnce } from '@webhooks/config';
import {
  type AmqpConnectionOptions,
  publishingConnection,
  QueueDepthProbe,
  rejectedQueueFromSettings,
  type Topology,
  topologyFromSettings,
} from '@webhooks/queue';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { alwaysAdmit, BacklogAdmission } from './backlog-admission.js';
import type { IngestConfig } from './config.js';
import { queueEventPublisher } from './event-publisher.js';
import { IngestMetrics } from './metrics.js';
import { discardRejected, queueQuarantine } from './quarantine.js';
import { DEFAULT_WARM_UP_REQUESTS, WarmUp } from './warm-up.js';

/** Refused requests awaiting the broker's confirm at once; past it more are not kept. */
const QUARANTINE_MAX_IN_FLIGHT = 100;

export interface IngestService {
  readonly app: FastifyInstance;
  readonly metrics: IngestMetrics;
  readonly topology: Topology;
  /** Present when `MAX_BACKLOG` is not 0. */
  readonly admission: BacklogAdmission | undefined;
  /** `/readyz` is 503 until it has run; `start()` runs it. */
  readonly warmUp: WarmUp;
  /**
   * Connects to the broker in the background (requests get 503 until it is connected) and runs
   * the warm-up: `/readyz` answers 200 once both are done.
   */
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
 * Wires the ingest API from its settings: broker connection, confirm publisher, topology,
 * backlog admission, the quarantine of refused provider requests and the HTTP app. Opens
 * nothing until `start()`; never listens.
 */
export function createIngestService(
  config: IngestConfig,
  logger: Logger,
  options: ReconnectDelays & {
    /** Requests the warm-up runs before `/readyz` answers 200. Default `DEFAULT_WARM_UP_REQUESTS`. */
    warmUpRequests?: number;
  } = {},
): IngestService {
  const { warmUpRequests = DEFAULT_WARM_UP_REQUESTS, ...reconnect } = options;
  const topology = topologyFromSettings(config);
  const { connection, publisher } = publishingConnection({
    url: config.AMQP_URL,
    logger,
    connectionName: 'ingest-api',
    ...reconnect,
    timeoutMs: config.PUBLISH_TIMEOUT_MS,
    maxInFlight: config.MAX_IN_FLIGHT,
    topology,
  });
  const metrics = new IngestMetrics({ brokerConnected: () => publisher.ready });

  // The backlog is read on a channel of its own, once a second, never per request.
  const depthProbe = new QueueDepthProbe({ connection, queue: topology.queue });
  const admission =
    config.MAX_BACKLOG === 0
      ? undefined
      : new BacklogAdmission({
          readDepth: () => depthProbe.depth(),
          maxBacklog: config.MAX_BACKLOG,
          metrics,
          logger,
        });

  // Refused provider requests travel on a connection of their own: a flood of forged requests
  // never shares flow control or in-flight slots with accepted events.
  const rejectedQueue = rejectedQueueFromSettings(config);
  const quarantine = config.KEEP_REJECTED
    ? publishingConnection({
        url: config.AMQP_URL,
        logger,
        connectionName: 'ingest-api-quarantine',
        ...reconnect,
        timeoutMs: config.PUBLISH_TIMEOUT_MS,
        maxInFlight: QUARANTINE_MAX_IN_FLIGHT,
        rejectedQueue,
      })
    : undefined;
  const quarantineConnection = quarantine?.connection;
  const quarantinePublisher = quarantine?.publisher;

  const warmUp = new WarmUp();
  const app = buildApp({
    warmUp,
    publisher: queueEventPublisher(publisher, topology, metrics, logger),
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
    admission: admission ?? alwaysAdmit,
    quarantine:
      quarantinePublisher === undefined
        ? discardRejected
        : queueQuarantine({
            publish: (message) => quarantinePublisher.publish(message),
            queue: rejectedQueue.name,
            maxInFlight: QUARANTINE_MAX_IN_FLIGHT,
            metrics,
            logger,
          }),
    providerSources: {
      sources: config.WEBHOOK_SOURCES,
      allowUnknown: config.WEBHOOK_ALLOW_UNKNOWN_SOURCES,
    },
  });

  // Requests first (they publish), then what they publish through: publishers before the
  // connections their channels live on.
  const stop = shutdownOnce({
    logger,
    what: 'ingest',
    steps: [
      ['close HTTP', () => app.close()],
      ['stop admission', () => admission?.stop()],
      ['close publisher', () => publisher.close(config.PUBLISH_TIMEOUT_MS)],
      ['close quarantine publisher', () => quarantinePublisher?.close(config.PUBLISH_TIMEOUT_MS)],
      ['close broker connection', () => connection.close()],
      ['close quarantine connection', () => quarantineConnection?.close()],
    ],
  });

  return {
    app,
    metrics,
    topology,
    admission,
    warmUp,
    start: () => {
      connection.start();
      quarantineConnection?.start();
      admission?.start();
      void warmUp.run(app, {
        requests: warmUpRequests,
        logger,
        brokerReady: () => publisher.ready,
      });
    },
    stop,
  };
}
