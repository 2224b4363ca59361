import { z } from 'zod';
import { EventId, Rfc3339, StorableJsonObject, WebhookBody } from './webhook-body.js';

/**
 * The body of a message on the queue: the validated event, including `source`, with the id it
 * is deduplicated by and the time the ingest API received it.
 */
export const QueueMessage = z.object({
  id: EventId,
  source: WebhookBody.shape.source,
  type: WebhookBody.shape.type,
  /** Storable by PostgreSQL: the ingest API refuses what is not, so the consumer does too. */
  data: StorableJsonObject,
  /** When the event happened: the client's `timestamp`, or the time of receipt. */
  timestamp: Rfc3339,
  /** When the ingest API accepted the request. */
  receivedAt: Rfc3339,
});
export type QueueMessage = z.infer<typeof QueueMessage>;

/** AMQP header names the services agree on. */
export const MessageHeader = {
  requestId: 'x-request-id',
  attempt: 'x-attempt',
  deathReason: 'x-death-reason',
  lastError: 'x-last-error',
  attempts: 'x-attempts',
  firstFailedAt: 'x-first-failed-at',
} as const;
