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
   * Everything `publish` does before the broker (the message is built), and nothing is sent.
   * Absent, a rehearsal does nothing beyond the route.
   */
  rehearse?(event: QueueMessage, context: { requestId: string }): void;
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
    rehearse: (event, { requestId }) => {
      eventMessage(event, topology, { requestId });
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
