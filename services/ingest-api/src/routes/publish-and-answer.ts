import type { AcceptedResponse, QueueMessage } from '@webhooks/contracts';
import { QueueUnavailableError } from '@webhooks/queue';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EventPublisher } from '../event-publisher.js';

export interface PublishAndAnswerOptions {
  request: FastifyRequest;
  reply: FastifyReply;
  publisher: EventPublisher;
  event: QueueMessage;
  /** Seconds a client is told to wait after a 503. */
  retryAfterSeconds: number;
}

/**
 * The end of every webhook route: 200 with the event id once the broker has confirmed the
 * message, 503 with `Retry-After` when it has not. Anything else is a bug and propagates (500).
 */
export async function publishAndAnswer(
  options: PublishAndAnswerOptions,
): Promise<AcceptedResponse | FastifyReply> {
  const { request, reply, publisher, event } = options;
  try {
    await publisher.publish(event, { requestId: request.id });
  } catch (err) {
    if (!(err instanceof QueueUnavailableError)) throw err;
    request.log.warn(
      { err, reason: err.reason, eventId: event.id, source: event.source },
      'event not accepted by the broker',
    );
    return reply
      .code(503)
      .header('retry-after', String(options.retryAfterSeconds))
      .send({ error: 'queue_unavailable' });
  }
  return { status: 'success', id: event.id };
}
