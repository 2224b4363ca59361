import { MessageHeader } from '@webhooks/contracts';
import type { ConfirmPublisher, Delivery, OutgoingMessage, Topology } from '@webhooks/queue';
import type { Logger } from 'pino';
import type { DeadLetterLog } from './dead-letter-log.js';
import type { Decision } from './decide.js';
import type { MessageContext } from './decode-message.js';
import type { ConsumerMetrics } from './metrics.js';

/** Longest `x-last-error` carried in a header; the full error stays in the log. */
const MAX_ERROR_HEADER_CHARS = 1000;

export interface SettlerOptions {
  /** Confirm publisher on the default exchange, for retry and dead-letter copies. */
  publisher: ConfirmPublisher;
  topology: Topology;
  logger: Logger;
  metrics: ConsumerMetrics;
  now?: () => Date;
  /** Told of every confirmed dead-letter copy before the original is acked. */
  deadLetterLog?: DeadLetterLog | undefined;
}

/**
 * Carries out a decision: the only place that acks or nacks a delivery. A retry or dead-letter
 * copy is acked by the broker before the original is acked, so a crash in between can
 * duplicate a message (the insert skips duplicates) but never lose it.
 */
export class Settler {
  readonly #options: SettlerOptions;
  readonly #retryQueueByDelay: ReadonlyMap<number, string>;

  constructor(options: SettlerOptions) {
    this.#options = options;
    this.#retryQueueByDelay = new Map(options.topology.retryQueues.map((q) => [q.delayMs, q.name]));
  }

  async settle(delivery: Delivery, decision: Decision, context: MessageContext): Promise<void> {
    const { logger, metrics, publisher, topology } = this.#options;
    if (decision.action === 'ack') {
      delivery.ack();
      metrics.acked.inc();
      return;
    }
    const target =
      decision.action === 'retry'
        ? this.#retryQueueByDelay.get(decision.delayMs)
        : topology.deadLetterQueue;
    if (target === undefined) throw new Error(`no retry queue for ${JSON.stringify(decision)}`);

    const log = logger.child({
      requestId: context.requestId,
      eventId: delivery.properties.messageId,
      attempt: context.attempt,
    });
    try {
      await publisher.publish({
        exchange: '',
        routingKey: target,
        body: delivery.body,
        properties: this.#properties(delivery, decision, context),
      });
    } catch (err) {
      // Not confirmed: the original must stay in the broker. Requeued, it is tried again.
      log.warn({ err, target }, 'could not move message; requeueing it');
      delivery.nack({ requeue: true });
      return;
    }
    if (decision.action === 'dead-letter' && this.#options.deadLetterLog !== undefined) {
      await this.#options.deadLetterLog.record({
        delivery,
        reason: decision.reason,
        error: decision.error,
        attempts: context.attempt,
        requestId: context.requestId,
        at: (this.#options.now ?? (() => new Date()))(),
      });
    }
    delivery.ack();
    if (decision.action === 'retry') {
      metrics.retried.inc();
      log.warn(
        { error: decision.error, retryInMs: decision.delayMs },
        'store failed; retrying later',
      );
    } else {
      metrics.countDeadLetter(decision.reason);
      log.warn({ reason: decision.reason, error: decision.error }, 'message dead-lettered');
    }
  }

  #properties(
    delivery: Delivery,
    decision: Decision,
    context: MessageContext,
  ): OutgoingMessage['properties'] {
    const now = (this.#options.now ?? (() => new Date()))();
    // x-death is the broker's own record of earlier hops; ours below replace it.
    const { 'x-death': _brokerHistory, ...headers } = delivery.headers;
    const lastError =
      decision.action === 'ack' ? undefined : decision.error.slice(0, MAX_ERROR_HEADER_CHARS);
    const common = {
      ...headers,
      [MessageHeader.lastError]: lastError,
      [MessageHeader.firstFailedAt]: headers[MessageHeader.firstFailedAt] ?? now.toISOString(),
    };
    const added =
      decision.action === 'retry'
        ? { [MessageHeader.attempt]: decision.nextAttempt }
        : decision.action === 'dead-letter'
          ? {
              [MessageHeader.deathReason]: decision.reason,
              [MessageHeader.attempts]: context.attempt,
            }
          : {};
    const p = delivery.properties;
    return definedOnly({
      contentType: p.contentType,
      contentEncoding: p.contentEncoding,
      messageId: p.messageId,
      correlationId: p.correlationId,
      timestamp: p.timestamp,
      type: p.type,
      appId: p.appId,
      headers: { ...common, ...added },
    });
  }
}

/** amqplib encodes `undefined` properties poorly; leave them out. */
function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
