import { randomUUID } from 'node:crypto';
import type { QueueMessage } from '@webhooks/contracts';
import {
  type ConfirmPublisher,
  eventMessage,
  QueueUnavailableError,
  type Topology,
} from '@webhooks/queue';
import type { Logger } from 'pino';
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
 * drops it. Nothing is stored, nothing is delivered, nothing is counted in the metrics. No new
 * permission is needed: declaring the topology already takes write access to the default
 * exchange (the main queue dead-letters through it; RabbitMQ refuses the declaration without).
 * Should the broker refuse one anyway, the rehearsals stop publishing for the life of the
 * process, with a warning: the warm-up goes on without it, and client events never wait behind
 * a channel that rehearsals keep breaking.
 */
export function queueEventPublisher(
  publisher: ConfirmPublisher,
  topology: Topology,
  metrics: IngestMetrics,
  logger?: Logger,
): EventPublisher {
  const nowhere = `warm-up.${randomUUID()}`;
  let rehearsing = true;
  return {
    get ready() {
      return publisher.ready;
    },
    rehearse: async (event, { requestId }) => {
      const message = eventMessage(event, topology, { requestId });
      if (!rehearsing || !publisher.ready) return false;
      try {
        await publisher.publish({
          ...message,
          exchange: '',
          routingKey: nowhere,
          mandatory: false,
        });
        return true;
      } catch (err) {
        const refused =
          err instanceof QueueUnavailableError &&
          (err.reason === 'channel_closed' || err.reason === 'nack');
        if (refused && rehearsing) {
          rehearsing = false;
          logger?.warn(
            { err },
            'the broker refused a warm-up message (to the default exchange): warming up without publishing',
          );
        }
        return false;
      }
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
