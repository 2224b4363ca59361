import { ConfigError, createLogger, handleShutdownSignals, parseEnv } from '@webhooks/config';
import { AmqpConnection, assertTopology, ConfirmPublisher, topologyFor } from '@webhooks/queue';
import dotenv from 'dotenv';
import { buildApp } from './app.js';
import { IngestConfig } from './config.js';
import { queueEventPublisher } from './event-publisher.js';
import { IngestMetrics } from './metrics.js';

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
connection.start();

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

handleShutdownSignals({
  process,
  logger,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  // Reverse order of opening: stop taking requests (in-flight ones finish), then the broker.
  shutdown: async () => {
    await app.close().catch((err: unknown) => logger.error({ err }, 'closing HTTP failed'));
    await publisher.close(config.PUBLISH_TIMEOUT_MS);
    await connection.close();
  },
});

await app.listen({ port: config.PORT, host: config.HOST });
