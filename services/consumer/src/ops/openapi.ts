import { ErrorResponse } from '@webhooks/contracts';
import { z } from 'zod';
import { DeadLettersQuery, ReplayRequest, ReplayResponse } from './routes/dead-letters.js';
import { EventsQuery, StatsQuery } from './routes/events.js';
import { RejectedQuery } from './routes/rejected.js';

interface JsonSchemaObject {
  properties?: Record<string, unknown>;
  required?: string[];
}

/** Query parameters of a route, from the zod schema that validates them. */
function queryParameters(schema: z.ZodType) {
  const json = z.toJSONSchema(schema, { io: 'input' }) as JsonSchemaObject;
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: property,
  }));
}

const json = (schema: z.ZodType) => ({
  'application/json': { schema: z.toJSONSchema(schema, { io: 'output' }) },
});
const error = (description: string) => ({ description, content: json(ErrorResponse) });
const idParameter = (what: string) => ({
  name: 'id',
  in: 'path',
  required: true,
  description: `The ${what}'s uuid`,
  schema: { type: 'string', format: 'uuid' },
});
const secured = [{ opsToken: [] }];
const unauthorized = error(
  '`unauthorized`: OPS_TOKEN is set and the bearer token is missing or wrong',
);
const page = (description: string) => ({
  description,
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['items', 'nextCursor'],
        properties: {
          items: { type: 'array', items: { type: 'object' } },
          nextCursor: {
            type: ['string', 'null'],
            description: 'Pass as `cursor` for the next page; null on the last page',
          },
        },
      },
    },
  },
});

/**
 * The consumer's ops API as an OpenAPI 3.1 document, generated from the zod schemas that
 * validate its requests (as the ingest API's is). Served at `/docs/json`.
 */
export function consumerOpenApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Webhook consumer ops API',
      version: '1.0.0',
      description:
        'What is stored and what failed, read-only, and replay of dead letters. When OPS_TOKEN ' +
        'is set, every path here except /healthz, /readyz, /metrics and /docs/json needs it as ' +
        'a bearer token. The console at /console uses these paths.',
    },
    components: {
      securitySchemes: { opsToken: { type: 'http', scheme: 'bearer' } },
    },
    paths: {
      '/events': {
        get: {
          summary: 'Stored events, newest first',
          operationId: 'listEvents',
          security: secured,
          parameters: queryParameters(EventsQuery),
          responses: {
            '200': page('A page of events'),
            '400': error('`invalid_query`, with `issues`'),
            '401': unauthorized,
          },
        },
      },
      '/events/{id}': {
        get: {
          summary: 'One stored event',
          operationId: 'getEvent',
          security: secured,
          parameters: [idParameter('event row')],
          responses: {
            '200': { description: 'The event', content: { 'application/json': {} } },
            '401': unauthorized,
            '404': error('`not_found`'),
          },
        },
      },
      '/events/{id}/data': {
        get: {
          summary: "The event's data exactly as PostgreSQL returns it",
          operationId: 'getEventData',
          security: secured,
          parameters: [idParameter('event row')],
          responses: {
            '200': { description: 'The stored JSON text', content: { 'application/json': {} } },
            '401': unauthorized,
            '404': error('`not_found`'),
          },
        },
      },
      '/stats': {
        get: {
          summary: 'Stored events counted by source and type (default: the last 24 hours)',
          operationId: 'getStats',
          security: secured,
          parameters: queryParameters(StatsQuery),
          responses: {
            '200': { description: 'Counts', content: { 'application/json': {} } },
            '400': error('`invalid_query`'),
            '401': unauthorized,
          },
        },
      },
      '/rejected': {
        get: {
          summary:
            'Kept provider requests refused with 401 or 404 (the quarantine), newest first; body as base64',
          operationId: 'listRejected',
          security: secured,
          parameters: queryParameters(RejectedQuery),
          responses: {
            '200': page('A page of kept requests'),
            '400': error('`invalid_query`, with `issues`'),
            '401': unauthorized,
          },
        },
      },
      '/rejected/{id}': {
        get: {
          summary: 'One kept request, with its headers and body (base64)',
          operationId: 'getRejected',
          security: secured,
          parameters: [idParameter('kept request')],
          responses: {
            '200': { description: 'The kept request', content: { 'application/json': {} } },
            '400': error('`invalid_query`: the id is not a uuid'),
            '401': unauthorized,
            '404': error('`not_found`'),
          },
        },
      },
      '/overview': {
        get: {
          summary: "The console's overview: the last hour per source, queues, dead letters, lag",
          operationId: 'getOverview',
          security: secured,
          responses: {
            '200': { description: 'Overview', content: { 'application/json': {} } },
            '401': unauthorized,
          },
        },
      },
      '/dead-letters': {
        get: {
          summary: 'Recorded dead letters, newest first (reads the table, never the queue)',
          operationId: 'listDeadLetters',
          security: secured,
          parameters: queryParameters(DeadLettersQuery),
          responses: {
            '200': page('A page of dead letters'),
            '400': error('`invalid_query`, with `issues`'),
            '401': unauthorized,
          },
        },
      },
      '/dead-letters/{id}': {
        get: {
          summary: 'One dead letter, with its body, last error and attempts',
          operationId: 'getDeadLetter',
          security: secured,
          parameters: [idParameter('dead letter')],
          responses: {
            '200': { description: 'The dead letter', content: { 'application/json': {} } },
            '401': unauthorized,
            '404': error('`not_found`'),
          },
        },
      },
      '/dead-letters/replay': {
        post: {
          summary: 'Move dead letters back to the main queue: by id, or all matching a filter',
          description:
            'Selects recorded dead letters still waiting in the queue. With `dryRun` it only ' +
            'counts them, without touching the queue. Same code as `pnpm dlq:replay`.',
          operationId: 'replayDeadLetters',
          security: secured,
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: z.toJSONSchema(ReplayRequest, { io: 'input' }) },
            },
          },
          responses: {
            '200': { description: 'What matched and what moved', content: json(ReplayResponse) },
            '400': error('`invalid_query`: both ids and filter fields, or a bad field'),
            '401': unauthorized,
            '503': error('`replay_failed`: the broker or the database did not answer'),
          },
        },
      },
      '/console': {
        get: {
          summary: 'The operator console (HTML; signs in with OPS_TOKEN when it is set)',
          responses: { '200': { description: 'HTML', content: { 'text/html': {} } } },
        },
      },
      '/healthz': {
        get: { summary: 'The process is alive', responses: { '200': { description: 'Alive' } } },
      },
      '/readyz': {
        get: {
          summary: 'The broker and the database are reachable',
          responses: {
            '200': { description: 'Ready' },
            '503': { description: 'Broker or database unreachable' },
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: {
            '200': { description: 'Prometheus text format', content: { 'text/plain': {} } },
          },
        },
      },
    },
  };
}
