import { SourceName, type WebhookSource } from '@webhooks/config';
import { type QueueMessage, storableJsonObject, toValidationIssues } from '@webhooks/contracts';
import type { FastifyInstance } from 'fastify';
import type { EventPublisher } from '../event-publisher.js';
import { parseJsonBody } from '../json-body.js';
import { type ProviderConvention, providerEventFields } from '../provider-event.js';
import type { RefusalLog } from '../signatures/refusal-log.js';
import type { SignatureVerifier } from '../signatures/signature-verifier.js';
import { unsignedVerifier, verifierForSource } from '../signatures/verifier-for-source.js';
import { publishAndAnswer } from './publish-and-answer.js';

/** The sources `POST /webhook/:source` accepts (`WEBHOOK_SOURCES` and its companion). */
export interface ProviderSources {
  /** Configured sources by name, with their signature schemes and secrets. */
  sources: Readonly<Record<string, WebhookSource>>;
  /** Accept sources missing from `sources`, unsigned, with the generic conventions. */
  allowUnknown: boolean;
}

export interface ProviderWebhookRouteOptions {
  publisher: EventPublisher;
  /** Seconds a client is told to wait after a 503. */
  retryAfterSeconds: number;
  /** Absent: no source is configured, so every `/webhook/:source` is 404. */
  providerSources: ProviderSources | undefined;
  /** Deepest nesting of the body, stored as `data` (`MAX_JSON_DEPTH`). */
  maxJsonDepth: number;
  /** Where refused signatures are logged, rate-limited per source. */
  refusalLog: RefusalLog;
}

interface SourceHandling {
  scheme: WebhookSource['scheme'] | 'unknown';
  verifier: SignatureVerifier;
  convention: ProviderConvention;
}

const CONVENTIONS: Record<WebhookSource['scheme'], ProviderConvention> = {
  standard: 'standard',
  github: 'github',
  stripe: 'stripe',
  none: 'generic',
};

const UNKNOWN_SOURCE: SourceHandling = {
  scheme: 'unknown',
  verifier: unsignedVerifier,
  convention: 'generic',
};

/**
 * `POST /webhook/:source`: a provider's own JSON, signed its own way. The signature is checked
 * on the raw bytes before anything else is looked at; the body is then stored whole as `data`
 * under the provider's delivery id, and answered 200 only once the broker has confirmed it.
 *
 * Registered as its own plugin scope so that its raw-body JSON parser leaves `POST /webhook`
 * with Fastify's default parser.
 */
export async function providerWebhookRoutes(
  scope: FastifyInstance,
  options: ProviderWebhookRouteOptions,
): Promise<void> {
  const { publisher, retryAfterSeconds } = options;
  // A JSON object PostgreSQL can store: no NUL, no unpaired surrogate, not nested too deep.
  const EventData = storableJsonObject({ maxDepth: options.maxJsonDepth });
  const allowUnknown = options.providerSources?.allowUnknown ?? false;
  // A Map, so that a path such as `/webhook/constructor` never finds an Object.prototype member.
  const sources = new Map<string, SourceHandling>(
    Object.entries(options.providerSources?.sources ?? {}).map(([name, source]) => [
      name,
      {
        scheme: source.scheme,
        verifier: verifierForSource(source),
        convention: CONVENTIONS[source.scheme],
      },
    ]),
  );

  // Signatures cover the bytes as sent; parsing and re-serialising would break them.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );

  scope.post<{ Params: { source: string } }>('/webhook/:source', async (request, reply) => {
    if (request.headers['content-type'] === undefined) {
      return reply.code(415).send({ error: 'unsupported_media_type' });
    }
    const { source } = request.params;
    let handling = sources.get(source);
    if (handling === undefined) {
      if (!allowUnknown) return reply.code(404).send({ error: 'unknown_source' });
      const name = SourceName.safeParse(source);
      if (!name.success) {
        const issues = toValidationIssues(name.error).map((i) => ({ ...i, path: 'param:source' }));
        return reply.code(400).send({ error: 'validation_failed', issues });
      }
      handling = UNKNOWN_SOURCE;
    }

    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const verdict = handling.verifier.verify({
      rawBody,
      headers: request.headers,
      nowMs: Date.now(),
    });
    if (!verdict.valid) {
      options.refusalLog.refused({ source, scheme: handling.scheme, reason: verdict.reason });
      return reply.code(401).send({ error: 'invalid_signature' });
    }

    const json = parseJsonBody(rawBody);
    if (!json.success) {
      return reply.code(400).send({ error: 'invalid_payload', message: json.message });
    }
    const data = EventData.safeParse(json.value);
    if (!data.success) {
      return reply
        .code(400)
        .send({ error: 'validation_failed', issues: toValidationIssues(data.error) });
    }
    const fields = providerEventFields(handling.convention, {
      headers: request.headers,
      body: data.data,
    });
    if (!fields.success) {
      return reply.code(400).send({ error: 'validation_failed', issues: fields.issues });
    }

    const receivedAt = new Date().toISOString();
    const event: QueueMessage = {
      id: fields.fields.id,
      source,
      type: fields.fields.type,
      data: data.data,
      timestamp: fields.fields.timestamp ?? receivedAt,
      receivedAt,
    };
    return publishAndAnswer({ request, reply, publisher, event, retryAfterSeconds });
  });
}
