import { ConfigError, createLogger, handleShutdownSignals, parseEnv } from '@webhooks/config';
import { Database, EventsRepository } from '@webhooks/db';
import {
  AmqpConnection,
  assertTopology,
  ConfirmPublisher,
  QueueConsumer,
  topologyFor,
} from '@webhooks/queue';
import dotenv from 'dotenv';
import { buildOpsApp } from './app.js';
import { BatchConsumer } from './batch-consumer.js';
import { ConsumerConfig } from './config.js';
import { DatabaseCircuit } from './database-circuit.js';
import { Settler } from './settle.js';

dotenv.config({ quiet: true });

let config: ConsumerConfig;
try {
  config = parseEnv(ConsumerConfig, process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

const logger = createLogger({
  name: 'consumer',
  level: config.LOG_LEVEL,
  pretty: process.stdout.isTTY === true,
});
const topology = topologyFor({
  exchange: config.EXCHANGE_NAME,
  queue: config.QUEUE_NAME,
  retryDelaysMs: config.RETRY_DELAYS_MS,
  queueType: config.QUEUE_TYPE,
});

const db = new Database({
  connectionString: config.DATABASE_URL,
  logger,
  maxConnections: config.DATABASE_POOL_SIZE,
  statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
  applicationName: 'webhook-consumer',
});
const events = new EventsRepository(db);

const connection = new AmqpConnection({ url: config.AMQP_URL, logger, connectionName: 'consumer' });
const publisher = new ConfirmPublisher({
  connection,
  logger,
  timeoutMs: 10_000,
  maxInFlight: config.PREFETCH,
  setup: (channel) => assertTopology(channel, topology),
});
const circuit: DatabaseCircuit = new DatabaseCircuit({
  probe: () => db.probe(),
  probeIntervalMs: config.DB_PROBE_INTERVAL_MS,
  logger,
  onOpen: (): Promise<void> => queue.pause(),
  onClose: (): Promise<void> => queue.resume(),
});
const batches: BatchConsumer = new BatchConsumer({
  insert: (rows) => events.insertBatch(rows),
  settler: new Settler({ publisher, topology, logger }),
  circuit,
  logger,
  batchSize: config.BATCH_SIZE,
  batchMaxWaitMs: config.BATCH_MAX_WAIT_MS,
  retryDelaysMs: config.RETRY_DELAYS_MS,
});
const queue: QueueConsumer = new QueueConsumer({
  connection,
  logger,
  queue: topology.queue,
  prefetch: config.PREFETCH,
  onDelivery: batches.onDelivery,
});

const app = buildOpsApp({
  logger,
  readiness: async () => ({
    broker: connection.connected,
    database: await db.probe().then(
      () => true,
      () => false,
    ),
  }),
});

handleShutdownSignals({
  process,
  logger,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  // Stop taking messages, finish and ack what we hold, then close in reverse order of opening.
  shutdown: async () => {
    await queue.stop();
    circuit.stop();
    await batches.drain();
    await app.close();
    await publisher.close();
    await queue.close();
    await connection.close();
    await db.close();
  },
});

// The database is not required to start: the circuit holds messages until it answers.
connection.start();
await app.listen({ port: config.PORT, host: config.HOST });
