import { shutdownOnce } from '@webhooks/config';
import {
  Database,
  DeadLettersRepository,
  DeliveriesRepository,
  EventsRepository,
  RejectedRequestsRepository,
  SubscriptionsRepository,
} from '@webhooks/db';
import {
  publishingConnection,
  QueueAdmin,
  type Topology,
  topologyFromSettings,
} from '@webhooks/queue';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ConsumerConfig } from './config.js';
import { deadLetterTableLog } from './dead-letters/dead-letter-log.js';
import { selectionReplay } from './dead-letters/selection-replay.js';
import { DeliveryRole } from './delivery/delivery-role.js';
import { TestEventSender } from './delivery/test-event.js';
import { buildOpsApp } from './ops/ops-app.js';
import { createOverview } from './ops/ops-overview.js';
import { ConsumerMetrics } from './pipeline/consumer-metrics.js';
import { MessagePipeline } from './pipeline/message-pipeline.js';
import { createRejectedQuarantine } from './quarantine/rejected-quarantine.js';
import { removeEventsAndResolvedDeadLetters } from './retention/remove-kept-rows.js';
import { RetentionScheduler } from './retention/retention-scheduler.js';

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
 * Wires the consumer from its settings. Opens nothing until `start()`; never listens.
 *
 * Beside the message pipeline (`MessagePipeline`: one message's way, top to bottom) it wires
 * the ops API, the quarantine and retention, and stops them all in order.
 */
export function createConsumerService(config: ConsumerConfig, logger: Logger): ConsumerService {
  const topology = topologyFromSettings(config);
  const storing = config.CONSUMER_ROLES.has('store');
  // Declared and published to only by a process that stores.
  const eventsExchange =
    storing && config.EVENTS_EXCHANGE !== '' ? config.EVENTS_EXCHANGE : undefined;
  const db = new Database({
    connectionString: config.DATABASE_URL,
    logger,
    maxConnections: config.DATABASE_POOL_SIZE,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    applicationName: 'webhook-consumer',
  });
  const events = new EventsRepository(db);
  const deadLetters = new DeadLettersRepository(db);
  // The publisher is the connection's first listener: the topology and the events exchange
  // are declared before the queue is consumed.
  const { connection, publisher } = publishingConnection({
    url: config.AMQP_URL,
    logger,
    connectionName: 'consumer',
    timeoutMs: REPUBLISH_TIMEOUT_MS,
    // Batches are published and settled one at a time, each of at most PREFETCH messages:
    // each message's event is published to the events exchange, then perhaps the message is
    // copied to a retry queue or the DLQ, never both at once.
    maxInFlight: config.PREFETCH,
    topology,
    ...(eventsExchange === undefined ? {} : { eventsExchange }),
  });
  const queueDepths = () =>
    connection.queueDepths([
      topology.queue,
      topology.deadLetterQueue,
      ...topology.retryQueues.map((q) => q.name),
    ]);
  const metrics = new ConsumerMetrics({ queueDepths });
  const delivery = config.CONSUMER_ROLES.has('deliver')
    ? new DeliveryRole({ db, settings: config, registry: metrics.registry, logger })
    : undefined;
  // Role `store`: the queue is consumed, events stored (with their deliveries) and published to
  // the events exchange. Without it the queue is not consumed at all.
  const pipeline = storing
    ? new MessagePipeline({
        settings: config,
        connection,
        topology,
        publisher,
        events: {
          findStored: (keys) => events.findStored(keys),
          // Deliveries just made are sent at once rather than at the sender's next poll.
          insertBatch: async (rows) => {
            const batch = await events.insertBatch(rows);
            if (batch.deliveriesQueued > 0) delivery?.worker.wake();
            return batch;
          },
        },
        eventsExchange,
        probeDatabase: () => db.probe(),
        deadLetterLog: deadLetterTableLog({
          deadLetters,
          logger,
          onUnrecorded: () => metrics.deadLettersUnrecorded.inc(),
        }),
        metrics,
        logger,
      })
    : undefined;

  const rejected = new RejectedRequestsRepository(db);
  // Test events go out from any process's ops API, under the same destination policy.
  const testEvents = new TestEventSender({ allowedNetworks: config.DELIVERY_ALLOWED_NETWORKS });
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
        queueDepths,
        circuitOpen: () => pipeline?.circuit.isOpen ?? false,
        lag: metrics.lag,
      }),
    },
    delivery: {
      subscriptions: new SubscriptionsRepository(db),
      deliveries: new DeliveriesRepository(db),
      testEvents,
    },
    readiness: async () => ({
      // A deliver-only process consumes no queue; it keeps the connection for the ops API.
      broker: connection.connected && publisher.ready && (pipeline?.queue.ready ?? true),
      database: await db.probe().then(
        () => true,
        () => false,
      ),
    }),
  });
  const retention = new RetentionScheduler({
    // Every run makes the partitions of the days ahead, whatever RETENTION_DAYS.
    run: (signal) =>
      removeEventsAndResolvedDeadLetters({
        events,
        deadLetters,
        retentionDays: config.RETENTION_DAYS,
        batchSize: config.RETENTION_BATCH_SIZE,
        signal,
      }),
    intervalMs: config.RETENTION_INTERVAL_MS,
    firstRunDelayMs: Math.min(RETENTION_FIRST_RUN_DELAY_MS, config.RETENTION_INTERVAL_MS),
    logger,
  });

  const stop = shutdownOnce({
    logger,
    what: 'consumer',
    steps: [
      // The batch in hand first: a slow retention DELETE must not eat the shutdown budget.
      ...(pipeline?.stopSteps() ?? []),
      ['stop retention', () => retention.stop()],
      ['stop quarantine', () => quarantine.stop()],
      ...(delivery?.stopSteps() ?? []),
      ['close HTTP', () => app.close()],
      ['close test event connections', () => testEvents.close()],
      ['close publisher', () => publisher.close()],
      ['close consume channel', async () => await pipeline?.queue.close()],
      ['close broker connection', () => connection.close()],
      ['close database pool', () => db.close()],
    ],
  });

  return {
    app,
    metrics,
    topology,
    start: () => {
      if (pipeline === undefined) {
        logger.info('CONSUMER_ROLES without store: no queue is consumed');
      } else {
        pipeline.start();
        // Kept requests are stored by the processes that store, like the events.
        quarantine.start();
      }
      connection.start();
      delivery?.start();
      retention.start();
      if (config.RETENTION_DAYS === 0) {
        logger.info('retention disabled (RETENTION_DAYS=0): events are kept');
      }
    },
    stop,
  };
}
