import type { QueueMessage } from '@webhooks/contracts';
import { DatabaseUnavailableError, type EventRow } from '@webhooks/db';
import type { Delivery } from '@webhooks/queue';
import type { Logger } from 'pino';
import type { DatabaseCircuit } from './database-circuit.js';
import { decide, type Outcome } from './decide.js';
import { decodeMessage, type MessageContext } from './decode-message.js';
import type { ConsumerMetrics } from './metrics.js';
import type { Settler } from './settle.js';
import { type InsertBatch, storeBatch } from './store-batch.js';

export interface BatchConsumerOptions {
  insert: InsertBatch;
  settler: Settler;
  circuit: DatabaseCircuit;
  logger: Logger;
  metrics: ConsumerMetrics;
  /** Most messages per INSERT. */
  batchSize: number;
  /** Longest a message waits for its batch to fill. */
  batchMaxWaitMs: number;
  retryDelaysMs: readonly number[];
}

interface Pending extends MessageContext {
  delivery: Delivery;
  event: QueueMessage;
}

/**
 * Collects valid messages into batches (up to `batchSize`, or whatever arrived within
 * `batchMaxWaitMs`), stores each batch with one statement, then settles every message by the
 * policy of `decide`. One batch is stored at a time while the next one fills; the broker's
 * prefetch bounds how many messages wait here. Invalid messages are settled at once.
 */
export class BatchConsumer {
  readonly #options: BatchConsumerOptions;
  #pending: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  readonly #settling = new Set<Promise<void>>();
  #draining = false;

  constructor(options: BatchConsumerOptions) {
    this.#options = options;
  }

  /** Hand every delivery of the queue to this. */
  readonly onDelivery = (delivery: Delivery): void => {
    this.#options.metrics.consumed.inc();
    const decoded = decodeMessage(delivery);
    if (!decoded.ok) {
      const decision = decide(
        { kind: 'invalid', error: decoded.error },
        decoded.attempt,
        this.#options.retryDelaysMs,
      );
      this.#track(this.#options.settler.settle(delivery, decision, decoded));
      return;
    }
    this.#pending.push({
      delivery,
      event: decoded.event,
      attempt: decoded.attempt,
      requestId: decoded.requestId,
    });
    if (this.#pending.length >= this.#options.batchSize) this.#flushSoon();
    else this.#timer ??= setTimeout(() => this.#flushSoon(), this.#options.batchMaxWaitMs);
  };

  #flushSoon(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#flushing ??= this.#flushLoop()
      .catch((err: unknown) => this.#options.logger.error({ err }, 'storing a batch failed'))
      .finally(() => {
        this.#flushing = undefined;
        // Messages that arrived during the last store and did not fill a batch still need a timer.
        if (this.#pending.length > 0)
          this.#timer ??= setTimeout(() => this.#flushSoon(), this.#options.batchMaxWaitMs);
      });
  }

  async #flushLoop(): Promise<void> {
    do {
      const batch = this.#pending.splice(0, this.#options.batchSize);
      await this.#storeAndSettle(batch);
    } while (
      this.#pending.length >= this.#options.batchSize ||
      (this.#draining && this.#pending.length > 0)
    );
  }

  async #storeAndSettle(taken: Pending[]): Promise<void> {
    const { circuit, insert, logger, metrics, retryDelaysMs, settler } = this.#options;
    let batch = taken;
    let outcomes: Outcome[];
    for (;;) {
      // Deliveries whose channel closed will be redelivered; storing them now is wasted work.
      batch = batch.filter((item) => item.delivery.settleable);
      if (batch.length === 0) return;
      try {
        outcomes = await storeBatch(batch.map(toRow), insert);
        break;
      } catch (err) {
        if (!(err instanceof DatabaseUnavailableError)) throw err;
        circuit.open(err);
        await circuit.whenClosed();
        // Shutting down with the database still away: leave the batch unacked for redelivery.
        // (A stopped circuit no longer opens, so it must not be retried in a loop either.)
        if (circuit.isOpen || circuit.isStopped) return;
      }
    }
    const storedAt = Date.now();
    const debug = logger.isLevelEnabled('debug');
    await Promise.all(
      batch.map((item, i) => {
        const outcome = outcomes[i] ?? { kind: 'stored' };
        if (outcome.kind === 'stored') {
          metrics.lag.observe((storedAt - Date.parse(item.event.receivedAt)) / 1000);
          if (debug) {
            logger.debug({ requestId: item.requestId, eventId: item.event.id }, 'event stored');
          }
        }
        return settler.settle(item.delivery, decide(outcome, item.attempt, retryDelaysMs), item);
      }),
    );
  }

  #track(settling: Promise<void>): void {
    const tracked = settling
      .catch((err: unknown) => this.#options.logger.error({ err }, 'settling a message failed'))
      .finally(() => this.#settling.delete(tracked));
    this.#settling.add(tracked);
  }

  /**
   * Stores and settles what has been received (unless the database is away: then it stays
   * unacked and returns to the queue), and waits for settles in progress. Call after the
   * subscription is cancelled.
   */
  async drain(): Promise<void> {
    this.#draining = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length > 0) this.#flushSoon();
    await this.#flushing;
    await Promise.all(this.#settling);
  }
}

function toRow(item: Pending): EventRow {
  return {
    eventId: item.event.id,
    source: item.event.source,
    type: item.event.type,
    data: item.event.data,
    timestamp: item.event.timestamp,
  };
}
