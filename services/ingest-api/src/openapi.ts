import {
  AcceptedResponse,
  BacklogFullResponse,
  ErrorResponse,
  errorResponse,
  jsonContent,
  probePaths,
  WebhookBody,
} from '@webhooks/contracts';
import { z } from 'zod';

/** JSON Schema of what a client sends (input side: defaults make fields optional). */
const requestSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input' });
const responseSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'output' });

/** Both 503s of a webhook route: the broker did not confirm, or the backlog is too long. */
const unavailable = {
  description:
    '`queue_unavailable`: the broker did not confirm; or `backlog_full`: more than MAX_BACKLOG ' +
    'events wait to be stored (with `backlog` and `limit`). Try again after Retry-After.',
  headers: {
    'Retry-After': {
      schema: { type: 'integer', minimum: 1 },
      description:
        'Seconds to wait: RETRY_AFTER_SECONDS for queue_unavailable; for backlog_full, the time ' +
        'the backlog needs to drain at the measured rate (1 to 300)',
    },
  },
  content: {
    'application/json': {
      schema: { oneOf: [responseSchema(ErrorResponse), responseSchema(BacklogFullResponse)] },
    },
  },
};

/**
 * The ingest API's OpenAPI 3.1 document, generated from the same zod schemas that validate
 * requests, so the documentation cannot drift from behaviour.
 */
export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Webhook ingest API',
      version: '1.0.0',
      description:
        'Accepts webhook events and answers 200 only once RabbitMQ has confirmed them. ' +
        'Events are stored exactly once per (source, id).',
    },
    paths: {
      '/webhook': {
        post: {
          summary: 'Submit one event',
          operationId: 'postWebhook',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: 'The event id when the body has no `id` (1..255 characters).',
              schema: { type: 'string', minLength: 1, maxLength: 255 },
            },
            {
              name: 'webhook-id',
              in: 'header',
              required: false,
              description: 'The event id when neither the body nor Idempotency-Key gives one.',
              schema: { type: 'string', minLength: 1, maxLength: 255 },
            },
            {
              name: 'x-request-id',
              in: 'header',
              required: false,
              description:
                'Correlation id, echoed and carried to the consumer (1..128 printable characters).',
              schema: { type: 'string', maxLength: 128 },
            },
          ],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: requestSchema(WebhookBody) } },
          },
          responses: {
            '200': {
              description: 'Published and confirmed by the broker',
              content: jsonContent(AcceptedResponse),
            },
            '400': errorResponse(
              '`invalid_payload` (not JSON, not UTF-8, prototype keys) or `validation_failed` ' +
                '(with `issues`; also NUL characters, unpaired surrogates, out-of-range numbers ' +
                'and nesting deeper than MAX_JSON_DEPTH, which cannot be stored)',
            ),
            '403': errorResponse(
              '`signed_source`: the source is configured with a signature; send it to /webhook/{source}',
            ),
            '413': errorResponse('`payload_too_large`: the body exceeds MAX_BODY_BYTES'),
            '415': errorResponse('`unsupported_media_type`: the body is not application/json'),
            '503': unavailable,
          },
        },
      },
      '/webhook/{source}': {
        post: {
          summary: "Submit a provider's own signed webhook (GitHub, Stripe, Standard Webhooks)",
          description:
            'The body is stored whole as `data`; id and type follow the scheme configured for ' +
            'the source in WEBHOOK_SOURCES. The signature is checked on the raw body first.',
          operationId: 'postProviderWebhook',
          parameters: [
            {
              name: 'source',
              in: 'path',
              required: true,
              description: 'A source configured in WEBHOOK_SOURCES.',
              schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' },
            },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { type: 'object' } },
              // GitHub's default content type; accepted for `github` sources only.
              'application/x-www-form-urlencoded': {
                schema: {
                  type: 'object',
                  required: ['payload'],
                  properties: {
                    payload: {
                      type: 'string',
                      description:
                        "The event's JSON (github sources only; the signature covers the form body)",
                    },
                  },
                },
              },
            },
          },
          responses: {
            '200': {
              description: 'Signature valid; published and confirmed by the broker',
              content: jsonContent(AcceptedResponse),
            },
            '400': errorResponse(
              '`invalid_payload` or `validation_failed` (no usable id or type, or content ' +
                'that cannot be stored, as for POST /webhook)',
            ),
            '401': errorResponse(
              '`invalid_signature`: missing, wrong or stale signature. Unless KEEP_REJECTED=false, ' +
                'the request is kept in a bounded quarantine for `pnpm rejected:replay`',
            ),
            '404': errorResponse(
              '`unknown_source`: the source is not in WEBHOOK_SOURCES (kept like a 401)',
            ),
            '413': errorResponse('`payload_too_large`: the body exceeds MAX_BODY_BYTES'),
            '415': errorResponse(
              '`unsupported_media_type`: the body is not application/json (nor, for a github ' +
                'source, application/x-www-form-urlencoded)',
            ),
            '503': unavailable,
          },
        },
      },
      ...probePaths({
        summary: 'The broker is reachable',
        ready:
          'Ready. `admission` says whether new webhooks are accepted (`open`), refused ' +
          'with 503 backlog_full (`shedding`: alive, not broken), `unknown` or `off` ' +
          '(MAX_BACKLOG=0); `backlog` is the last depth read',
        notReady: 'Broker unreachable',
      }),
    },
  };
}
