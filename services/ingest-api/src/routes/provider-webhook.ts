import { FORM_MEDIA_TYPE, type ProviderSources, providerVerifier } from '@webhooks/providers';
import type { FastifyInstance } from 'fastify';
import type { Admission } from '../backlog-admission.js';
import type { EventPublisher } from '../event-publisher.js';
import type { Quarantine } from '../quarantine.js';
import type { RefusalLog } from '../refusal-log.js';
import { publishAndAnswer } from './publish-and-answer.js';

export interface ProviderWebhookRouteOptions {
  publisher: EventPublisher;
  /** Seconds a client is told to wait after a 503. */
  retryAfterSeconds: number;
  /** Absent: no source is configured, so every `/webhook/:source` is 404. */
  providerSources: ProviderSources | undefined;
  /** Deepest nesting of the body, stored as `data` (`MAX_JSON_DEPTH`). */
  maxJsonDepth: number;
  /** Where requests refused with 401 or 404 are kept; the answer never waits for it. */
  quarantine: Quarantine;
  admission: Admission;
  /** Where refused signatures are logged, rate-limited per source. */
  refusalLog: RefusalLog;
}

/**
 * `POST /webhook/:source`: a provider's own JSON (for GitHub, also form-encoded), signed its
 * own way. The signature is checked
 * on the raw bytes before anything else is looked at; the body is then stored whole as `data`
 * under the provider's delivery id, and answered 200 only once the broker has confirmed it.
 * Requests refused for their signature or an unknown source are handed to the quarantine.
 *
 * Registered as its own plugin scope so that its raw-body JSON parser leaves `POST /webhook`
 * with Fastify's default parser.
 */
export async function providerWebhookRoutes(
  scope: FastifyInstance,
  options: ProviderWebhookRouteOptions,
): Promise<void> {
  const { publisher, retryAfterSeconds, quarantine, admission } = options;
  const verify = providerVerifier(options);

  // Signatures cover the bytes as sent; parsing and re-serialising would break them. Form
  // bodies (GitHub's default) are read too; the verification answers 415 unless the source is a
  // GitHub one. Any other content type stays a 415 from Fastify.
  scope.removeAllContentTypeParsers();
  for (const mediaType of ['application/json', FORM_MEDIA_TYPE]) {
    scope.addContentTypeParser(mediaType, { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );
  }

  scope.post<{ Params: { source: string } }>('/webhook/:source', async (request, reply) => {
    if (request.headers['content-type'] === undefined) {
      return reply.code(415).send({ error: 'unsupported_media_type' });
    }
    const { source } = request.params;
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const receivedAtMs = Date.now();
    const result = verify({ source, rawBody, headers: request.headers, receivedAtMs });
    if (!result.success) {
      const { rejection } = result;
      if (rejection !== undefined) {
        if (rejection.reason === 'invalid_signature') {
          options.refusalLog.refused({
            source,
            scheme: rejection.scheme ?? 'unknown',
            reason: rejection.detail ?? 'unknown',
          });
        }
        quarantine.keep({
          source,
          reason: rejection.reason,
          detail: rejection.detail,
          rawBody,
          headers: request.headers,
          receivedAtMs,
          requestId: request.id,
        });
      }
      return reply.code(result.status).send(result.body);
    }
    const { event } = result;
    return publishAndAnswer({ request, reply, publisher, event, retryAfterSeconds, admission });
  });
}
