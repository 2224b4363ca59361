import { randomUUID } from 'node:crypto';
import type { QueueMessage } from '@webhooks/contracts';
import { type ConfirmPublisher, eventMessage, type Topology } from '@webhooks/queue';
import type { IngestMetrics } from './metrics.js';

/** What the HTTP layer needs of the broker: publish an event and know whether it can. */
export interface EventPublisher {
  /** False while there is no channel to the broker: requests then get 503 at once. */
  readonly ready: boolean;
  /** Resolves once the broker has confirmed the message; rejects with `QueueUnavailableError`. */
  publish(event: QueueMessage, context: { requestId: string }): Promise<void>;
  /**
   * Everything `publish` does, sent where no queue takes it; resolves true once the broker has
   * confirmed it, false when it was not (not connected, refused). Never rejects. Absent, a
   * rehearsal does nothing beyond the route.
   */
  rehearse?(event: QueueMessage, context: { requestId: string }): Promise<boolean>;
}

/**
 * Publishes events to the topology's exchange as persistent JSON messages, first attempt, and
 * records how long each confirm took.
 *
 * A rehearsal (the warm-up's) is built and published the same way on the same channel, so that
 * the publish and confirm path is warm too, but to the default exchange under a routing key
 * drawn for this process, which names no queue, and not mandatory: the broker confirms it and
 * drops it. Nothing is stored, nothing is delivered, nothing is counted in the metrics.
 */
export function queueEventPublisher(
  publisher: ConfirmPublisher,
  topology: Topology,
  metrics: IngestMetrics,
): EventPublisher {
  const nowhere = `warm-up.${randomUUID()}`;
  return {
    get ready() {
      return publisher.ready;
    },
    rehearse: async (event, { requestId }) => {
      const message = eventMessage(event, topology, { requestId });
      if (!publisher.ready) return false;
      return publisher
        .publish({ ...message, exchange: '', routingKey: nowhere, mandatory: false })
        .then(
          () => true,
          () => false,
        );
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
