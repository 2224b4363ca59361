import type { ShutdownStep } from '@webhooks/config';
import type { EventsRepository } from '@webhooks/db';
import {
  type AmqpConnection,
  type ConfirmPublisher,
  type Delivery,
  QueueConsumer,
  type Topology,
} from '@webhooks/queue';
import type { Logger } from 'pino';
import type { ConsumerConfig } from '../config.js';
import type { DeadLetterLog } from '../dead-letters/dead-letter-log.js';
import { Batcher } from './batcher.js';
import type { ConsumerMetrics } from './consumer-metrics.js';
import { DatabaseCircuit } from './database-circuit.js';
import { eventsFanOut, type FanOut } from './events-fan-out.js';
import { processBatch } from './process-batch.js';
import { Settler } from './settle.js';
import { type InsertedRows, storeBatch } from './store-batch.js';

/** The settings the message pipeline reads (see `.env.example`). */
export type PipelineSettings = Pick<
  ConsumerConfig,
  | 'PREFETCH'
  | 'PREFETCH_MAX_BYTES'
  | 'BATCH_SIZE'
  | 'BATCH_MAX_BYTES'
  | 'BATCH_MAX_WAIT_MS'
  | 'RETRY_DELAYS_MS'
  | 'DB_PROBE_INTERVAL_MS'
>;

export interface MessagePipelineOptions {
  settings: PipelineSettings;
  /** The broker connection the queue is consumed on. */
  connection: AmqpConnection;
  topology: Topology;
  /**
   * Confirm publisher, for retry and dead-letter copies (default exchange) and the events
   * exchange.
   */
  publisher: Pick<ConfirmPublisher, 'publish'>;
  events: Pick<EventsRepository, 'insertBatch' | 'findStored'>;
  /**
   * The events exchange every stored event is published to before its message is acked
   * (declared by the publisher); `undefined`: none.
   */
  eventsExchange: string | undefined;
  /** Resolves when the database answers; probed while the circuit is open. */
  probeDatabase: () => Promise<void>;
  /** Told of every confirmed dead-letter copy before the original is acked. */
  deadLetterLog?: DeadLetterLog | undefined;
  metrics: ConsumerMetrics;
  logger: Logger;
}

/**
 * One message's way through the consumer, top to bottom: the `QueueConsumer` hands each
 * delivery to the `Batcher`; each batch goes to `handleBatch`, which runs `processBatch`
 * (decode, store through the `DatabaseCircuit`, publish to the events exchange, decide) and
 * hands the verdicts to the `Settler`, which acks, retries, dead-letters or requeues every
 * delivery.
 */
export class MessagePipeline {
  readonly queue: QueueConsumer;
  readonly circuit: DatabaseCircuit<InsertedRows>;
  readonly #batcher: Batcher<Delivery>;
  readonly #settler: Settler;
  readonly #fanOut: FanOut | undefined;
  readonly #options: MessagePipelineOptions;

  constructor(options: MessagePipelineOptions) {
    this.#options = options;
    const { settings, metrics, logger } = options;
    this.queue = new QueueConsumer({
      connection: options.connection,
      logger,
      queue: options.topology.queue,
      prefetch: settings.PREFETCH,
      maxUnackedBytes: settings.PREFETCH_MAX_BYTES,
      onUnackedBytes: (bytes) => metrics.unackedBytes.set(bytes),
      onReturned: () => metrics.returnedUnread.inc(),
      // Nothing more comes until a batch is stored: the one filling need not wait for its timer.
      onSaturated: () => this.#batcher.flush(),
    });
    this.circuit = new DatabaseCircuit({
      insert: metrics.measureInserts((rows) => options.events.insertBatch(rows)),
      probe: options.probeDatabase,
      probeIntervalMs: settings.DB_PROBE_INTERVAL_MS,
      queue: this.queue,
      logger,
      onStateChange: (open) => metrics.circuitOpen.set(open ? 1 : 0),
    });
    this.#fanOut =
      options.eventsExchange === undefined
        ? undefined
        : eventsFanOut({
            exchange: options.eventsExchange,
            publisher: options.publisher,
            events: options.events,
            metrics,
            logger,
          });
    this.#settler = new Settler({
      publisher: options.publisher,
      topology: options.topology,
      logger,
      metrics,
      deadLetterLog: options.deadLetterLog,
    });
    this.#batcher = new Batcher<Delivery>({
      maxItems: settings.BATCH_SIZE,
      maxBytes: settings.BATCH_MAX_BYTES,
      maxWaitMs: settings.BATCH_MAX_WAIT_MS,
      bytesOf: (delivery) => delivery.body.length,
      handle: (deliveries) => this.handleBatch(deliveries),
      onError: (err) => logger.error({ err }, 'handling a batch failed'),
    });
  }

  /** Subscribes; deliveries flow once the connection is up. */
  start(): void {
    this.queue.consume((delivery) => {
      this.#options.metrics.consumed.inc();
      this.#batcher.add(delivery);
    });
  }

  /** Decides and settles one batch: every delivery ends acked, retried, dead-lettered or requeued. */
  async handleBatch(deliveries: readonly Delivery[]): Promise<void> {
    // Deliveries whose channel closed will be redelivered; storing them now is wasted work.
    const live = deliveries.filter((delivery) => delivery.settleable);
    const verdicts = await processBatch(live, {
      store: (rows) => storeBatch(rows, this.circuit.insert),
      fanOut: this.#fanOut,
      retryDelaysMs: this.#options.settings.RETRY_DELAYS_MS,
    });
    await this.#settler.settleAll(verdicts);
  }

  /** Shutdown's first steps: take nothing more, stop waiting for the database, settle what is held. */
  stopSteps(): ShutdownStep[] {
    return [
      ['cancel consumption', () => this.queue.stop()],
      // A batch waiting for the database gives its messages back rather than wait on.
      ['stop probing', () => this.circuit.stop()],
      ['drain batches', () => this.#batcher.drain()],
    ];
  }
}
