import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  EventId,
  type QueueMessage,
  toValidationIssues,
  webhookBodySchema,
} from '@webhooks/contracts';
import type { FastifyInstance } from 'fastify';
import type { Admission } from '../backlog-admission.js';
import type { EventPublisher } from '../event-publisher.js';
import type { WarmUp } from '../warm-up.js';
import { publishAndAnswer } from './publish-and-answer.js';

export interface WebhookRouteOptions {
  publisher: EventPublisher;
  /** Seconds a client is told to wait after a 503. */
  retryAfterSeconds: number;
  /** Deepest nesting of `data` (`MAX_JSON_DEPTH`). */
  maxJsonDepth: number;
  /**
   * Sources whose events must arrive signed at `POST /webhook/<source>`. The unsigned envelope
   * refuses them, or anyone could store an event as, say, `github` past the signature check.
   */
  signedSources: ReadonlySet<string>;
  /** Whether the backlog leaves room for one more event (`MAX_BACKLOG`). */
  admission: Admission;
  /** Whose requests publish nothing (see `WarmUp`). */
  warmUp: WarmUp;
}

/** Headers that carry the event id when the body has none, in order of preference. */
const ID_HEADERS = ['idempotency-key', 'webhook-id'] as const;

/**
 * `POST /webhook`: validate, publish with the broker's confirm, and only then answer 200.
 * The id answered is the dedup key the consumer stores the event under.
 */
export function webhookRoute(app: FastifyInstance, options: WebhookRouteOptions): void {
  const { publisher, retryAfterSeconds, admission, warmUp } = options;
  // Besides the shape, it refuses what PostgreSQL could not store (NUL, unpaired surrogates,
  // nesting past the limit), naming the path, so an accepted event is never lost afterwards.
  const WebhookBody = webhookBodySchema({ maxJsonDepth: options.maxJsonDepth });

  app.post('/webhook', async (request, reply) => {
    if (request.headers['content-type'] === undefined) {
      return reply.code(415).send({ error: 'unsupported_media_type' });
    }
    const body = WebhookBody.safeParse(request.body);
    if (!body.success) {
      return reply
        .code(400)
        .send({ error: 'validation_failed', issues: toValidationIssues(body.error) });
    }
    if (options.signedSources.has(body.data.source)) {
      return reply.code(403).send({
        error: 'signed_source',
        message: `events of source '${body.data.source}' are accepted only signed, at POST /webhook/${body.data.source}`,
      });
    }
    const headerId = idFromHeaders(request.headers);
    if (headerId?.success === false) {
      return reply.code(400).send({
        error: 'validation_failed',
        issues: [{ path: `header:${headerId.header}`, message: 'must be 1 to 255 characters' }],
      });
    }

    const receivedAt = new Date().toISOString();
    const event: QueueMessage = {
      id: body.data.id ?? headerId?.id ?? randomUUID(),
      source: body.data.source,
      type: body.data.type,
      data: body.data.data,
      timestamp: body.data.timestamp ?? receivedAt,
      receivedAt,
    };

    return publishAndAnswer({
      request,
      reply,
      publisher,
      event,
      retryAfterSeconds,
      admission,
      warmUp,
    });
  });
}

type HeaderId = { success: true; id: string } | { success: false; header: string };

function idFromHeaders(headers: IncomingHttpHeaders): HeaderId | undefined {
  for (const header of ID_HEADERS) {
    const value = headers[header];
    if (typeof value !== 'string') continue;
    const id = EventId.safeParse(value);
    return id.success ? { success: true, id: id.data } : { success: false, header };
  }
  return undefined;
}
