import { z } from 'zod';
import { EventId, Rfc3339, StorableJsonObject, WebhookBody } from './webhook-body.js';

/**
 * The body of a message on the queue: the validated event, including `source`, with the id it
 * is deduplicated by and the time the ingest API received it. This is what the ingest API
 * publishes. Its text is written and read with `stringifyExactJson` / `parseExactJson`, so the
 * numbers of `data` keep every digit the sender wrote.
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

/**
 * What the consumer accepts: a `QueueMessage`, or only the event's own fields (`id`, `source`,
 * `type`, optionally `data` and `timestamp`) as another producer, or an engineer in the
 * Management UI, would publish. The consumer completes it: `data` defaults to `{}`,
 * `receivedAt` to the message's AMQP `timestamp` property, else the time it is consumed, and
 * `timestamp` to `receivedAt`.
 */
export const QueueMessageInput = QueueMessage.extend({
  data: StorableJsonObject.default({}),
  timestamp: Rfc3339.optional(),
  receivedAt: Rfc3339.optional(),
});
export type QueueMessageInput = z.infer<typeof QueueMessageInput>;

/** AMQP header names the services agree on. */
export const MessageHeader = {
  requestId: 'x-request-id',
  attempt: 'x-attempt',
  deathReason: 'x-death-reason',
  lastError: 'x-last-error',
  attempts: 'x-attempts',
  firstFailedAt: 'x-first-failed-at',
} as const;
