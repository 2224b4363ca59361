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
import { processBatch, publishStoredEvents, type Verdict } from './process-batch.js';
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
 * (decode, store through the `DatabaseCircuit`, decide), then `publishStoredEvents` (to the
 * events exchange, deciding again for what is not published) and hands the verdicts to the
 * `Settler`, which acks, retries, dead-letters or requeues every delivery.
 */
export class MessagePipeline {
  readonly queue: QueueConsumer;
  readonly circuit: DatabaseCircuit<InsertedRows>;
  readonly #batcher: Batcher<Delivery>;
  readonly #settler: Settler;
  readonly #fanOut: FanOut | undefined;
  /** The last batch handed over being published and settled. */
  #settling: Promise<void> = Promise.resolve();
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

  /**
   * Stores one batch, then publishes and settles it: every delivery ends acked, retried,
   * dead-lettered or requeued. Resolves once the batch is stored and the previous one settled,
   * while this one's publish and settle go on (`#settling`): the next batch is stored while the
   * broker confirms this one's publishes, so a batch costs about the longer of the two, not
   * their sum. Batches are still settled one at a time, in order.
   */
  async handleBatch(deliveries: readonly Delivery[]): Promise<void> {
    // Deliveries whose channel closed will be redelivered; storing them now is wasted work.
    const live = deliveries.filter((delivery) => delivery.settleable);
    const verdicts = await processBatch(live, {
      store: (rows) => storeBatch(rows, this.circuit.insert),
      retryDelaysMs: this.#options.settings.RETRY_DELAYS_MS,
    });
    await this.#settling;
    this.#settling = this.#publishAndSettle(verdicts);
  }

  /** Resolves once every batch handed over so far is settled. */
  async settled(): Promise<void> {
    await this.#settling;
  }

  async #publishAndSettle(verdicts: readonly Verdict<Delivery>[]): Promise<void> {
    try {
      const fanOut = this.#fanOut;
      const decided =
        fanOut === undefined
          ? verdicts
          : await publishStoredEvents(verdicts, {
              fanOut,
              retryDelaysMs: this.#options.settings.RETRY_DELAYS_MS,
            });
      await this.#settler.settleAll(decided);
    } catch (err) {
      // Neither step throws (each settles what it cannot handle); this only keeps a bug from
      // rejecting `#settling`, which every later batch awaits.
      this.#options.logger.error({ err }, 'publishing or settling a batch failed');
    }
  }

  /** Shutdown's first steps: take nothing more, stop waiting for the database, settle what is held. */
  stopSteps(): ShutdownStep[] {
    return [
      ['cancel consumption', () => this.queue.stop()],
      // A batch waiting for the database gives its messages back rather than wait on.
      ['stop probing', () => this.circuit.stop()],
      [
        'drain batches',
        async () => {
          await this.#batcher.drain();
          await this.settled();
        },
      ],
    ];
  }
}
