import {
  Database,
  DeadLettersRepository,
  EventsRepository,
  RejectedRequestsRepository,
} from '@webhooks/db';
import {
  AmqpConnection,
  assertTopology,
  ConfirmPublisher,
  QueueAdmin,
  QueueConsumer,
  type Topology,
  topologyFor,
} from '@webhooks/queue';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildOpsApp } from './app.js';
import { BatchConsumer } from './batch-consumer.js';
import type { ConsumerConfig } from './config.js';
import { DatabaseCircuit } from './database-circuit.js';
import { deadLetterTableLog } from './dead-letter-log.js';
import { selectionReplay } from './dead-letter-replay.js';
import { ConsumerMetrics } from './metrics.js';
import { createOverview } from './ops-overview.js';
import { createRejectedQuarantine } from './rejected-quarantine.js';
import { removeExpiredEvents } from './remove-expired-events.js';
import { RetentionScheduler } from './retention-scheduler.js';
import { Settler } from './settle.js';

/** Longest wait for the broker to confirm a retry or dead-letter copy. */
const REPUBLISH_TIMEOUT_MS = 10_000;
/** Retention's first run, after start: soon, once the broker and database had time to answer. */
const RETENTION_FIRST_RUN_DELAY_MS = 10_000;

export interface ConsumerService {
  readonly app: FastifyInstance;
  readonly metrics: ConsumerMetrics;
  readonly topology: Topology;
  /** Connects to the broker in the background and starts consuming once connected. */
  start(): void;
  /** Stops consuming, stores and acks what it holds, then closes everything. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Wires the consumer from its settings: broker connection, topology, the batch pipeline, the
 * database circuit and the ops HTTP app. Opens nothing until `start()`; never listens.
 */
export function createConsumerService(config: ConsumerConfig, logger: Logger): ConsumerService {
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
  const deadLetters = new DeadLettersRepository(db);
  const connection = new AmqpConnection({
    url: config.AMQP_URL,
    logger,
    connectionName: 'consumer',
  });
  const publisher = new ConfirmPublisher({
    connection,
    logger,
    timeoutMs: REPUBLISH_TIMEOUT_MS,
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
  const metrics = new ConsumerMetrics({
    circuitOpen: () => circuit.isOpen,
    queueDepths: () =>
      connection.queueDepths([
        topology.queue,
        topology.deadLetterQueue,
        ...topology.retryQueues.map((q) => q.name),
      ]),
  });
  const batches = new BatchConsumer({
    insert: async (rows) => {
      metrics.batchSize.observe(rows.length);
      const stopTimer = metrics.insertDuration.startTimer();
      try {
        await events.insertBatch(rows);
        stopTimer({ outcome: 'ok' });
      } catch (err) {
        stopTimer({ outcome: 'error' });
        throw err;
      }
    },
    settler: new Settler({
      publisher,
      topology,
      logger,
      metrics,
      deadLetterLog: deadLetterTableLog({
        deadLetters,
        logger,
        onUnrecorded: () => metrics.deadLettersUnrecorded.inc(),
      }),
    }),
    circuit,
    logger,
    metrics,
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
  const rejected = new RejectedRequestsRepository(db);
  const quarantine = createRejectedQuarantine({
    config,
    repository: rejected,
    logger,
    registry: metrics.registry,
    retentionFirstRunDelayMs: Math.min(RETENTION_FIRST_RUN_DELAY_MS, config.RETENTION_INTERVAL_MS),
  });
  const app = buildOpsApp({
    logger,
    events,
    rejected,
    metricsRegistry: metrics.registry,
    opsToken: config.OPS_TOKEN,
    operations: {
      deadLetters,
      // Replays are rare operator actions: a connection of their own, closed afterwards.
      replay: selectionReplay({
        deadLetters,
        connectAdmin: () => QueueAdmin.connect(config.AMQP_URL),
        topology,
        logger,
      }),
      overview: createOverview({
        events,
        deadLetters,
        topology,
        queueDepths: () =>
          connection.queueDepths([
            topology.queue,
            topology.deadLetterQueue,
            ...topology.retryQueues.map((q) => q.name),
          ]),
        circuitOpen: () => circuit.isOpen,
        lag: metrics.lag,
      }),
    },
    readiness: async () => ({
      broker: connection.connected && publisher.ready && queue.ready,
      database: await db.probe().then(
        () => true,
        () => false,
      ),
    }),
  });

  const retention = new RetentionScheduler({
    run: (signal) =>
      removeExpiredEvents({
        events,
        retentionDays: config.RETENTION_DAYS,
        batchSize: config.RETENTION_BATCH_SIZE,
        signal,
      }),
    intervalMs: config.RETENTION_INTERVAL_MS,
    firstRunDelayMs: Math.min(RETENTION_FIRST_RUN_DELAY_MS, config.RETENTION_INTERVAL_MS),
    logger,
  });

  let stopped: Promise<void> | undefined;
  const stop = async () => {
    // Each step runs even if an earlier one failed; the first failure is reported at the end.
    const failures: unknown[] = [];
    const step = async (name: string, run: () => Promise<void> | void) => {
      try {
        await run();
      } catch (err) {
        logger.error({ err, step: name }, 'shutdown step failed');
        failures.push(err);
      }
    };
    await step('cancel consumption', () => queue.stop());
    await step('stop probing', () => circuit.stop());
    // The batch in hand first: a slow retention DELETE must not eat the shutdown budget.
    await step('drain batches', () => batches.drain());
    await step('stop retention', () => retention.stop());
    await step('stop quarantine', () => quarantine.stop());
    await step('close HTTP', () => app.close());
    await step('close publisher', () => publisher.close());
    await step('close consume channel', () => queue.close());
    await step('close broker connection', () => connection.close());
    await step('close database pool', () => db.close());
    if (failures.length > 0) throw new AggregateError(failures, 'consumer shutdown incomplete');
  };

  return {
    app,
    metrics,
    topology,
    start: () => {
      connection.start();
      quarantine.start();
      if (config.RETENTION_DAYS > 0) retention.start();
      else logger.info('retention disabled (RETENTION_DAYS=0): events are kept');
    },
    stop: () => {
      stopped ??= stop();
      return stopped;
    },
  };
}
