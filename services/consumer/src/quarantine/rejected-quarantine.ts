import { counter, shutdownOnce } from '@webhooks/config';
import type { RejectedRequestsRepository } from '@webhooks/db';
import { AmqpConnection, QueueConsumer, rejectedQueueFromSettings } from '@webhooks/queue';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ConsumerConfig } from '../config.js';
import { removeRejectedRequests } from '../retention/remove-kept-rows.js';
import { RetentionScheduler } from '../retention/retention-scheduler.js';
import { RejectedRequestStore } from './store-rejected-request.js';

/** Kept requests are few and small next to events: a short prefetch is plenty. */
const REJECTED_PREFETCH = 20;

export interface RejectedQuarantine {
  /** Connects in the background, stores what arrives, removes what is past its retention. */
  start(): void;
  /** Idempotent; runs every step even if one fails. */
  stop(): Promise<void>;
}

export interface RejectedQuarantineOptions {
  config: Pick<
    ConsumerConfig,
    | 'AMQP_URL'
    | 'QUEUE_NAME'
    | 'QUEUE_TYPE'
    | 'KEEP_REJECTED'
    | 'REJECTED_QUEUE_MAX_LENGTH'
    | 'REJECTED_QUEUE_MAX_BYTES'
    | 'REJECTED_RETENTION_DAYS'
    | 'REJECTED_MAX_ROWS'
    | 'RETENTION_INTERVAL_MS'
    | 'RETENTION_BATCH_SIZE'
  >;
  repository: RejectedRequestsRepository;
  logger: Logger;
  registry: Registry;
  /** Time from `start()` to the first retention run, ms. */
  retentionFirstRunDelayMs: number;
}

/**
 * The consumer's half of the quarantine: drains `${QUEUE_NAME}_rejected` into
 * `rejected_requests` on a broker connection of its own (nothing it does can disturb the
 * events' consumption), and removes kept requests older than `REJECTED_RETENTION_DAYS` and
 * the oldest beyond `REJECTED_MAX_ROWS`.
 */
export function createRejectedQuarantine(options: RejectedQuarantineOptions): RejectedQuarantine {
  const { config, logger, repository } = options;
  const stored = counter(options.registry, {
    name: 'rejected_requests_stored_total',
    help: 'Messages of the rejected queue, by outcome (stored, duplicate, malformed, refused by the database, failed and handed back)',
    labelNames: ['outcome'],
  });
  const queue = rejectedQueueFromSettings(config);
  const connection = config.KEEP_REJECTED
    ? new AmqpConnection({ url: config.AMQP_URL, logger, connectionName: 'consumer-quarantine' })
    : undefined;
  const store = new RejectedRequestStore({
    insert: (row) => repository.insert(row),
    logger,
    stored,
  });
  const consumer =
    connection === undefined
      ? undefined
      : new QueueConsumer({
          connection,
          logger,
          queue: queue.name,
          prefetch: REJECTED_PREFETCH,
          rejectedQueue: queue,
        });
  const retention = new RetentionScheduler({
    run: (signal) =>
      removeRejectedRequests({
        rejected: repository,
        retentionDays: config.REJECTED_RETENTION_DAYS,
        maxRows: config.REJECTED_MAX_ROWS,
        batchSize: config.RETENTION_BATCH_SIZE,
        signal,
      }),
    intervalMs: config.RETENTION_INTERVAL_MS,
    firstRunDelayMs: options.retentionFirstRunDelayMs,
    logger,
    what: 'rejected request(s)',
  });

  const stop = shutdownOnce({
    logger,
    what: 'quarantine',
    steps: [
      ['cancel rejected consumption', () => consumer?.stop()],
      ['finish the kept request in hand', () => store.drain()],
      ['stop rejected retention', () => retention.stop()],
      ['close rejected consume channel', () => consumer?.close()],
      ['close quarantine connection', () => connection?.close()],
    ],
  });

  return {
    start: () => {
      consumer?.consume(store.onDelivery);
      connection?.start();
      // Kept requests expire even after KEEP_REJECTED is turned off; the row cap holds even
      // with REJECTED_RETENTION_DAYS=0.
      retention.start();
    },
    stop,
  };
}
