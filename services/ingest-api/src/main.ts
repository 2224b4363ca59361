import { ConfigError, createLogger, handleShutdownSignals, parseEnv } from '@webhooks/config';
import {
  AmqpConnection,
  assertRejectedQueue,
  assertTopology,
  ConfirmPublisher,
  QueueDepthProbe,
  rejectedQueueFor,
  topologyFor,
} from '@webhooks/queue';
import dotenv from 'dotenv';
import { buildApp } from './app.js';
import { alwaysAdmit, BacklogAdmission } from './backlog-admission.js';
import { IngestConfig } from './config.js';
import { queueEventPublisher } from './event-publisher.js';
import { IngestMetrics } from './metrics.js';
import { discardRejected, queueQuarantine } from './quarantine.js';

/** Refused requests awaiting the broker's confirm at once; past it more are not kept. */
const QUARANTINE_MAX_IN_FLIGHT = 100;

dotenv.config({ quiet: true });

let config: IngestConfig;
try {
  config = parseEnv(IngestConfig, process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

const logger = createLogger({
  name: 'ingest-api',
  level: config.LOG_LEVEL,
  pretty: process.stdout.isTTY === true,
});
const topology = topologyFor({
  exchange: config.EXCHANGE_NAME,
  queue: config.QUEUE_NAME,
  retryDelaysMs: config.RETRY_DELAYS_MS,
  queueType: config.QUEUE_TYPE,
});

const connection = new AmqpConnection({
  url: config.AMQP_URL,
  logger,
  connectionName: 'ingest-api',
});
const publisher = new ConfirmPublisher({
  connection,
  logger,
  timeoutMs: config.PUBLISH_TIMEOUT_MS,
  maxInFlight: config.MAX_IN_FLIGHT,
  setup: (channel) => assertTopology(channel, topology),
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
const rejectedQueue = rejectedQueueFor({
  queue: config.QUEUE_NAME,
  maxLength: config.REJECTED_QUEUE_MAX_LENGTH,
  maxBytes: config.REJECTED_QUEUE_MAX_BYTES,
  queueType: config.QUEUE_TYPE,
});
const quarantineConnection = config.KEEP_REJECTED
  ? new AmqpConnection({ url: config.AMQP_URL, logger, connectionName: 'ingest-api-quarantine' })
  : undefined;
const quarantinePublisher =
  quarantineConnection === undefined
    ? undefined
    : new ConfirmPublisher({
        connection: quarantineConnection,
        logger,
        timeoutMs: config.PUBLISH_TIMEOUT_MS,
        maxInFlight: QUARANTINE_MAX_IN_FLIGHT,
        setup: (channel) => assertRejectedQueue(channel, rejectedQueue),
      });

connection.start();
quarantineConnection?.start();
admission?.start();
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

handleShutdownSignals({
  process,
  logger,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  // Reverse order of opening: stop taking requests (in-flight ones finish), then the broker.
  shutdown: async () => {
    await app.close().catch((err: unknown) => logger.error({ err }, 'closing HTTP failed'));
    admission?.stop();
    await publisher.close(config.PUBLISH_TIMEOUT_MS);
    await quarantinePublisher?.close(config.PUBLISH_TIMEOUT_MS);
    await connection.close();
    await quarantineConnection?.close();
  },
});

await app.listen({ port: config.PORT, host: config.HOST });
