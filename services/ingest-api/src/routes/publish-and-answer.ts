import type { AcceptedResponse, QueueMessage } from '@webhooks/contracts';
import { QueueUnavailableError } from '@webhooks/queue';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Admission } from '../backlog-admission.js';
import type { EventPublisher } from '../event-publisher.js';
import type { WarmUp } from '../warm-up.js';

export interface PublishAndAnswerOptions {
  request: FastifyRequest;
  reply: FastifyReply;
  publisher: EventPublisher;
  event: QueueMessage;
  /** Seconds a client is told to wait after a 503. */
  retryAfterSeconds: number;
  /** Whether the backlog leaves room for one more event (`MAX_BACKLOG`). */
  admission: Admission;
  /**
   * Its requests are answered as if confirmed, their messages sent where no queue takes them.
   * Default: none.
   */
  warmUp?: WarmUp;
}

/**
 * The end of every webhook route: 503 `backlog_full` while the main queue's backlog is past
 * `MAX_BACKLOG`; otherwise 200 with the event id once the broker has confirmed the message,
 * 503 `queue_unavailable` when it has not. Anything else is a bug and propagates (500).
 */
export async function publishAndAnswer(
  options: PublishAndAnswerOptions,
): Promise<AcceptedResponse | FastifyReply> {
  const { request, reply, publisher, event, admission } = options;
  const verdict = admission.verdict();
  if (!verdict.admit) {
    return reply
      .code(503)
      .header('retry-after', String(verdict.retryAfterSeconds))
      .send({
        error: 'backlog_full',
        message: `${verdict.backlog} events are waiting to be stored (limit ${verdict.limit}); try again in ${verdict.retryAfterSeconds} s`,
        backlog: verdict.backlog,
        limit: verdict.limit,
      });
  }
  if (options.warmUp?.isRehearsal(request.headers) === true) {
    const confirmed = (await publisher.rehearse?.(event, { requestId: request.id })) ?? false;
    options.warmUp.noteRehearsal(confirmed);
    return { status: 'success', id: event.id };
  }
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
  admission.noteAccepted();
  return { status: 'success', id: event.id };
}
