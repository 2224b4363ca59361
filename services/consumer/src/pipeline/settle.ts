import { randomUUID } from 'node:crypto';
import { type DeathReason, MessageHeader } from '@webhooks/contracts';
import {
  type ConfirmPublisher,
  type Delivery,
  republishProperties,
  type Topology,
} from '@webhooks/queue';
import type { Logger } from 'pino';
import type { DeadLetterLog } from '../dead-letters/dead-letter-log.js';
import type { ConsumerMetrics } from './consumer-metrics.js';
import type { Decision } from './decide.js';
import type { MessageContext } from './decode-message.js';
import type { Verdict } from './process-batch.js';

/** Longest `x-last-error` carried in a header; the full error stays in the log. */
const MAX_ERROR_HEADER_CHARS = 1000;

export interface SettlerOptions {
  /** Confirm publisher on the default exchange, for retry and dead-letter copies. */
  publisher: Pick<ConfirmPublisher, 'publish'>;
  topology: Topology;
  logger: Logger;
  metrics: ConsumerMetrics;
  now?: () => Date;
  /** Told of every confirmed dead-letter copy before the original is acked. */
  deadLetterLog?: DeadLetterLog | undefined;
}

/**
 * Carries out decisions: the one place that acks or nacks an events-queue delivery once the
 * pipeline has it (the queue consumer hands back, unread, one that arrives past the byte bound;
 * the quarantine's queue is settled in `store-rejected-request.ts`). A retry or dead-letter
 * copy is confirmed by the broker before the original is acked, so a crash in between can
 * duplicate a message (the insert skips duplicates) but never lose it.
 */
export class Settler {
  readonly #options: SettlerOptions;
  readonly #retryQueueByDelay: ReadonlyMap<number, string>;

  constructor(options: SettlerOptions) {
    this.#options = options;
    this.#retryQueueByDelay = new Map(options.topology.retryQueues.map((q) => [q.delayMs, q.name]));
  }

  /** Settles every delivery of a batch; resolves once each is acked or nacked. Never throws. */
  async settleAll(verdicts: readonly Verdict<Delivery>[]): Promise<void> {
    await Promise.all(verdicts.map((verdict) => this.settle(verdict)));
  }

  /** Settles one delivery by its decision. Never throws: on a bug it requeues the delivery. */
  async settle(verdict: Verdict<Delivery>): Promise<void> {
    const { message: delivery, decision } = verdict;
    try {
      switch (decision.action) {
        case 'ack':
          return this.#ack(verdict);
        case 'requeue':
          delivery.nack({ requeue: true });
          return;
        case 'retry':
          return await this.#retry(delivery, decision, verdict.context);
        case 'dead-letter':
          return await this.#deadLetter(delivery, decision, verdict.context);
      }
    } catch (err) {
      this.#options.logger.error({ err }, 'settling a message failed; requeueing it');
      delivery.nack({ requeue: true });
    }
  }

  #ack({ message: delivery, event, context }: Verdict<Delivery>): void {
    const { logger, metrics } = this.#options;
    delivery.ack();
    metrics.acked.inc();
    if (event === undefined) return;
    metrics.lag.observe((Date.now() - Date.parse(event.receivedAt)) / 1000);
    if (logger.isLevelEnabled('debug')) {
      logger.debug({ requestId: context.requestId, eventId: event.id }, 'event stored');
    }
  }

  async #retry(
    delivery: Delivery,
    decision: Extract<Decision, { action: 'retry' }>,
    context: MessageContext,
  ): Promise<void> {
    const target = this.#retryQueueByDelay.get(decision.delayMs);
    if (target === undefined)
      throw new Error(`no retry queue for a delay of ${decision.delayMs} ms`);
    const headers = {
      ...this.#failureHeaders(delivery, decision.error),
      [MessageHeader.attempt]: decision.nextAttempt,
    };
    if ((await this.#copyTo(target, delivery, headers, context)) === undefined) return;
    delivery.ack();
    this.#options.metrics.retried.inc();
    this.#log(delivery, context).warn(
      { error: decision.error, retryInMs: decision.delayMs },
      'store failed; retrying later',
    );
  }

  /** The one place a message is dead-lettered: copied to the DLQ, confirmed, then acked. */
  async #deadLetter(
    delivery: Delivery,
    decision: { reason: DeathReason; error: string },
    context: MessageContext,
  ): Promise<void> {
    const headers = {
      ...this.#failureHeaders(delivery, decision.error),
      [MessageHeader.deathReason]: decision.reason,
      [MessageHeader.attempts]: context.attempt,
    };
    const target = this.#options.topology.deadLetterQueue;
    const messageId = await this.#copyTo(target, delivery, headers, context);
    if (messageId === undefined) return;
    // Recorded for searching once the DLQ copy is safe, before the original goes.
    await this.#options.deadLetterLog?.record({
      delivery,
      messageId,
      reason: decision.reason,
      error: decision.error,
      attempts: context.attempt,
      requestId: context.requestId,
      at: (this.#options.now ?? (() => new Date()))(),
    });
    delivery.ack();
    this.#options.metrics.countDeadLetter(decision.reason);
    this.#log(delivery, context).warn(
      { reason: decision.reason, error: decision.error },
      'message dead-lettered',
    );
  }

  /**
   * Publishes a copy and waits for the broker's confirm; returns the copy's message id. A
   * message without one gets one here, as the publisher would give it (it recognises returned
   * messages by their id), so that what is recorded names the copy in the queue. Unconfirmed,
   * the original is requeued (it must stay in the broker) and `undefined` is returned.
   */
  async #copyTo(
    target: string,
    delivery: Delivery,
    headers: Record<string, unknown>,
    context: MessageContext,
  ): Promise<string | undefined> {
    const properties = republishProperties(delivery.properties, headers);
    properties.messageId ??= randomUUID();
    try {
      await this.#options.publisher.publish({
        exchange: '',
        routingKey: target,
        body: delivery.body,
        properties,
      });
      return properties.messageId;
    } catch (err) {
      this.#log(delivery, context).warn({ err, target }, 'could not move message; requeueing it');
      delivery.nack({ requeue: true });
      return undefined;
    }
  }

  /** The delivery's headers with this failure recorded; the first failure's time is kept. */
  #failureHeaders(delivery: Delivery, error: string): Record<string, unknown> {
    const now = (this.#options.now ?? (() => new Date()))();
    // x-death is the broker's own record of earlier hops; ours replace it.
    const { 'x-death': _brokerHistory, ...headers } = delivery.headers;
    return {
      ...headers,
      [MessageHeader.lastError]: error.slice(0, MAX_ERROR_HEADER_CHARS),
      [MessageHeader.firstFailedAt]: headers[MessageHeader.firstFailedAt] ?? now.toISOString(),
    };
  }

  #log(delivery: Delivery, context: MessageContext): Logger {
    return this.#options.logger.child({
      requestId: context.requestId,
      eventId: delivery.properties.messageId,
      attempt: context.attempt,
    });
  }
}
