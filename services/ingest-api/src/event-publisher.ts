import { MessageHeader, type QueueMessage, stringifyExactJson } from '@webhooks/contracts';
import type { ConfirmPublisher, OutgoingMessage, Topology } from '@webhooks/queue';
import type { IngestMetrics } from './metrics.js';

/** What the HTTP layer needs of the broker: publish an event and know whether it can. */
export interface EventPublisher {
  /** False while there is no channel to the broker: requests then get 503 at once. */
  readonly ready: boolean;
  /** Resolves once the broker has confirmed the message; rejects with `QueueUnavailableError`. */
  publish(event: QueueMessage, context: { requestId: string }): Promise<void>;
}

/**
 * Publishes events to the topology's exchange as persistent JSON messages, first attempt, and
 * records how long each confirm took.
 */
export function queueEventPublisher(
  publisher: ConfirmPublisher,
  topology: Topology,
  metrics: IngestMetrics,
): EventPublisher {
  return {
    get ready() {
      return publisher.ready;
    },
    publish: async (event, { requestId }) => {
      const stopTimer = metrics.publishDuration.startTimer();
      try {
        await publisher.publish(eventMessage(event, topology, { requestId }));
        stopTimer({ outcome: 'confirmed' });
      } catch (err) {
        stopTimer({ outcome: 'failed' });
        throw err;
      }
    },
  };
}

/**
 * An event as the ingest API publishes it, first attempt: persistent JSON to the topology's
 * exchange, its id as message id (`pnpm rejected:replay` publishes the same way).
 */
export function eventMessage(
  event: QueueMessage,
  topology: Topology,
  context: { requestId: string },
): OutgoingMessage {
  return {
    exchange: topology.exchange,
    routingKey: topology.routingKey,
    // Numbers of `data` as the sender wrote them (see `parseExactJson`).
    body: Buffer.from(stringifyExactJson(event)),
    properties: {
      messageId: event.id,
      contentType: 'application/json',
      // AMQP timestamps are whole seconds; the body keeps the precise `receivedAt`.
      timestamp: Math.floor(Date.parse(event.receivedAt) / 1000),
      appId: 'ingest-api',
      headers: { [MessageHeader.requestId]: context.requestId, [MessageHeader.attempt]: 1 },
    },
  };
}
