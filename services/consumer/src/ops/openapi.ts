import { errorResponse, jsonContent, probePaths } from '@webhooks/contracts';
import { PREVIOUS_SECRET_VALID_HOURS } from '@webhooks/db';
import { z } from 'zod';
import { CreateSubscription, UpdateSubscription } from '../delivery/subscription-settings.js';
import { DeadLettersQuery, ReplayRequest, ReplayResponse } from './routes/dead-letters.js';
import {
  DeliveriesQuery,
  DeliveryReplayRequest,
  DeliveryReplayResponse,
} from './routes/deliveries.js';
import { EventsQuery, StatsQuery } from './routes/events.js';
import { RejectedQuery } from './routes/rejected.js';
import {
  BackfillRequest,
  BackfillResponse,
  TestEventResponse,
} from './routes/subscription-controls.js';
import { SubscriptionJson, SubscriptionsQuery } from './routes/subscriptions.js';

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

const idParameter = (what: string) => ({
  name: 'id',
  in: 'path',
  required: true,
  description: `The ${what}'s uuid`,
  schema: { type: 'string', format: 'uuid' },
});
const someJson = (description: string) => ({ description, content: { 'application/json': {} } });
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

interface Operation {
  summary: string;
  description?: string;
  operationId: string;
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
}

/** An operation behind the token: 401 when OPS_TOKEN is set and the request lacks it. */
function guarded(operation: Operation) {
  const responses = {
    ...operation.responses,
    '401': errorResponse(
      '`unauthorized`: OPS_TOKEN is set and the bearer token is missing or wrong',
    ),
  };
  return {
    ...operation,
    security: [{ opsToken: [] }],
    // In the order of their codes, as a reader looks them up.
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b))),
  };
}

/** An operation that is never open: 403 while OPS_TOKEN is unset, 401 without it when set. */
function tokenRequired(operation: Operation) {
  return guarded({
    ...operation,
    responses: {
      ...operation.responses,
      '403': errorResponse('`ops_token_required`: OPS_TOKEN is not set, so this is refused'),
    },
  });
}

/** A JSON request body, as the zod schema that checks it takes it (defaults optional). */
const jsonBody = (schema: z.ZodType) => ({
  required: true,
  content: { 'application/json': { schema: z.toJSONSchema(schema, { io: 'input' }) } },
});

const subscription = (description: string) => ({
  description,
  content: jsonContent(SubscriptionJson),
});
const invalidSubscription = errorResponse(
  '`validation_failed`, with `issues` naming each refused field (`filter.types.0`), or ' +
    '`invalid_query`: the id is not a uuid',
);
const nameTaken = errorResponse('`name_taken`: another subscription has this name');

/** `GET` of a paged list, its parameters from the query schema that checks them. */
function pagedListGet(list: {
  summary: string;
  operationId: string;
  query: z.ZodType;
  page: string;
}) {
  return {
    get: guarded({
      summary: list.summary,
      operationId: list.operationId,
      parameters: queryParameters(list.query),
      responses: { '200': page(list.page), '400': errorResponse('`invalid_query`, with `issues`') },
    }),
  };
}

/** `GET` of one row by its uuid (see `rowById`). */
function rowGet(row: { summary: string; operationId: string; what: string; answer: string }) {
  return {
    get: guarded({
      summary: row.summary,
      operationId: row.operationId,
      parameters: [idParameter(row.what)],
      responses: {
        '200': someJson(row.answer),
        '400': errorResponse('`invalid_query`: the id is not a uuid'),
        '404': errorResponse('`not_found`'),
      },
    }),
  };
}

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
        'What is stored and what failed, read-only, replay of dead letters, and the ' +
        'subscriptions stored events are sent to. When OPS_TOKEN is set, every path here ' +
        'except /healthz, /readyz, /metrics and /docs/json needs it as a bearer token; while ' +
        'it is unset, /subscriptions answers 403. The console at /console uses these paths.',
    },
    components: {
      securitySchemes: { opsToken: { type: 'http', scheme: 'bearer' } },
    },
    paths: {
      '/events': pagedListGet({
        summary: 'Stored events, newest first',
        operationId: 'listEvents',
        query: EventsQuery,
        page: 'A page of events',
      }),
      '/events/{id}': rowGet({
        summary: 'One stored event',
        operationId: 'getEvent',
        what: 'event row',
        answer: 'The event',
      }),
      '/events/{id}/data': rowGet({
        summary: "The event's data exactly as PostgreSQL returns it",
        operationId: 'getEventData',
        what: 'event row',
        answer: 'The stored JSON text',
      }),
      '/stats': {
        get: guarded({
          summary: 'Stored events counted by source and type (default: the last 24 hours)',
          operationId: 'getStats',
          parameters: queryParameters(StatsQuery),
          responses: { '200': someJson('Counts'), '400': errorResponse('`invalid_query`') },
        }),
      },
      '/rejected': pagedListGet({
        summary:
          'Kept provider requests refused with 401 or 404 (the quarantine), newest first; body as base64',
        operationId: 'listRejected',
        query: RejectedQuery,
        page: 'A page of kept requests',
      }),
      '/rejected/{id}': rowGet({
        summary: 'One kept request, with its headers and body (base64)',
        operationId: 'getRejected',
        what: 'kept request',
        answer: 'The kept request',
      }),
      '/overview': {
        get: guarded({
          summary: "The console's overview: the last hour per source, queues, dead letters, lag",
          operationId: 'getOverview',
          responses: { '200': someJson('Overview') },
        }),
      },
      '/dead-letters': pagedListGet({
        summary: 'Recorded dead letters, newest first (reads the table, never the queue)',
        operationId: 'listDeadLetters',
        query: DeadLettersQuery,
        page: 'A page of dead letters',
      }),
      '/dead-letters/{id}': rowGet({
        summary: 'One dead letter, with its body, last error and attempts',
        operationId: 'getDeadLetter',
        what: 'dead letter',
        answer: 'The dead letter',
      }),
      '/dead-letters/replay': {
        post: guarded({
          summary: 'Move dead letters back to the main queue: by id, or all matching a filter',
          description:
            'Selects recorded dead letters still waiting in the queue. With `dryRun` it only ' +
            'counts them, without touching the queue. Same code as `pnpm dlq:replay`.',
          operationId: 'replayDeadLetters',
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: z.toJSONSchema(ReplayRequest, { io: 'input' }) },
            },
          },
          responses: {
            '200': {
              description: 'What matched and what moved',
              content: jsonContent(ReplayResponse),
            },
            '400': errorResponse('`invalid_query`: both ids and filter fields, or a bad field'),
            '503': errorResponse('`replay_failed`: the broker or the database did not answer'),
          },
        }),
      },
      '/subscriptions': {
        get: tokenRequired({
          summary: 'Subscriptions by name, with their health; never their secrets',
          operationId: 'listSubscriptions',
          parameters: queryParameters(SubscriptionsQuery),
          responses: {
            '200': {
              description: 'A page of subscriptions',
              content: jsonContent(
                z.object({
                  items: z.array(SubscriptionJson),
                  nextCursor: z.string().nullable().meta({
                    description: 'Pass as `cursor` for the next page; null on the last page',
                  }),
                }),
              ),
            },
            '400': errorResponse('`invalid_query`, with `issues`'),
          },
        }),
        post: tokenRequired({
          summary: 'Send stored events to a URL: create a subscription',
          description:
            'Absent settings take their defaults and an absent secret is generated. The answer ' +
            'is the only one that shows the secret.',
          operationId: 'createSubscription',
          requestBody: jsonBody(CreateSubscription),
          responses: {
            '201': subscription('The subscription, with its `secret`'),
            '400': invalidSubscription,
            '409': nameTaken,
          },
        }),
      },
      '/subscriptions/{id}': {
        get: tokenRequired({
          summary: 'One subscription, with its health; never its secret',
          operationId: 'getSubscription',
          parameters: [idParameter('subscription')],
          responses: {
            '200': subscription('The subscription'),
            '400': errorResponse('`invalid_query`: the id is not a uuid'),
            '404': errorResponse('`not_found`'),
          },
        }),
        patch: tokenRequired({
          summary: 'Change settings of a subscription',
          description:
            'A `filter` replaces the whole filter (null: every event). A new `secret` ' +
            `rotates the current one out: deliveries are signed with both for ${PREVIOUS_SECRET_VALID_HOURS} hours ` +
            '(`previousSecretExpiresAt`), and the answer shows the new one.',
          operationId: 'updateSubscription',
          parameters: [idParameter('subscription')],
          requestBody: jsonBody(UpdateSubscription),
          responses: {
            '200': subscription('The subscription; with `secret` when the request set one'),
            '400': invalidSubscription,
            '404': errorResponse('`not_found`'),
            '409': nameTaken,
          },
        }),
        delete: tokenRequired({
          summary: 'Delete a subscription and its deliveries',
          description:
            'Refused while deliveries of it are pending and it is active; pause it first to ' +
            'drop them.',
          operationId: 'deleteSubscription',
          parameters: [idParameter('subscription')],
          responses: {
            '204': { description: 'Deleted' },
            '400': errorResponse('`invalid_query`: the id is not a uuid'),
            '404': errorResponse('`not_found`'),
            '409': errorResponse('`subscription_active`: it is active and deliveries are pending'),
          },
        }),
      },
      '/subscriptions/{id}/pause': {
        post: tokenRequired({
          summary: 'Pause a subscription: its deliveries keep being made and wait; none is sent',
          description:
            'The senders also pause, by themselves, a subscription whose every attempt failed ' +
            'for DELIVERY_AUTO_PAUSE_AFTER_MS (24 h by default), with `pausedReason` set.',
          operationId: 'pauseSubscription',
          parameters: [idParameter('subscription')],
          responses: {
            '200': subscription('The subscription, `state` paused'),
            '400': errorResponse('`invalid_query`: the id is not a uuid'),
            '404': errorResponse('`not_found`'),
          },
        }),
      },
      '/subscriptions/{id}/resume': {
        post: tokenRequired({
          summary: 'Resume a paused subscription: what waited is sent',
          description:
            'Clears `pausedReason`; an automatic pause counts failures from here on only.',
          operationId: 'resumeSubscription',
          parameters: [idParameter('subscription')],
          responses: {
            '200': subscription('The subscription, `state` active'),
            '400': errorResponse('`invalid_query`: the id is not a uuid'),
            '404': errorResponse('`not_found`'),
          },
        }),
      },
      '/subscriptions/{id}/backfill': {
        post: tokenRequired({
          summary: 'Make deliveries of events stored in a window, before the subscription too',
          description:
            'The stored events of [`from`, `to`) (by stored time) that match the ' +
            "subscription's filter, and `sources`/`types` when given, become its deliveries, " +
            'due now, each with its usual `webhook-id`. An event that has a delivery for it ' +
            'already keeps that one as it is (not made again, not sent again: replay it for ' +
            'that). Read in pages of 5,000 events, each its own statement. `dryRun` counts.',
          operationId: 'backfillSubscription',
          parameters: [idParameter('subscription')],
          requestBody: jsonBody(BackfillRequest),
          responses: {
            '200': {
              description: 'What matched and was queued',
              content: jsonContent(BackfillResponse),
            },
            '400': errorResponse(
              '`validation_failed`, with `issues` naming each refused field, or ' +
                '`invalid_query`: the id is not a uuid',
            ),
            '404': errorResponse('`not_found`: no such subscription'),
          },
        }),
      },
      '/subscriptions/{id}/test': {
        post: tokenRequired({
          summary: 'Send a signed test event to the subscription now, paused or not',
          description:
            'Body `{"id","source":"webhooks","type":"webhook.test","timestamp","data"}`, ' +
            '`webhook-id` `msg_` + a fresh id, signed like deliveries, sent by the same sender ' +
            "(destination policy, the subscription's timeout, no redirects). Neither stored " +
            'nor retried: the answer says how it went.',
          operationId: 'testSubscription',
          parameters: [idParameter('subscription')],
          responses: {
            '200': {
              description: 'How the attempt went',
              content: jsonContent(TestEventResponse),
            },
            '400': errorResponse('`invalid_query`: the id is not a uuid'),
            '404': errorResponse('`not_found`: no such subscription'),
          },
        }),
      },
      '/subscriptions/{id}/deliveries': {
        get: tokenRequired({
          summary: "A subscription's deliveries, newest stored event first",
          description:
            'One per (subscription, event), with its status, attempts so far and last error. ' +
            '`from`/`to` are on the time the event was stored.',
          operationId: 'listDeliveries',
          parameters: [idParameter('subscription'), ...queryParameters(DeliveriesQuery)],
          responses: {
            '200': page('A page of deliveries; pass `nextCursor` as `cursor` for the next'),
            '400': errorResponse('`invalid_query`, with `issues`'),
            '404': errorResponse('`not_found`: no such subscription'),
          },
        }),
      },
      '/deliveries/{id}': {
        get: tokenRequired({
          summary: 'One delivery, with every attempt (time, status or error, duration, first KiB)',
          operationId: 'getDelivery',
          parameters: [idParameter('delivery')],
          responses: {
            '200': someJson('The delivery and its `attemptLog`, oldest attempt first'),
            '400': errorResponse('`invalid_query`: the id is not a uuid'),
            '404': errorResponse('`not_found`'),
          },
        }),
      },
      '/deliveries/replay': {
        post: tokenRequired({
          summary: 'Send deliveries again: by ids, or a subscription with filters',
          description:
            'Selected deliveries become pending, due now, at the start of their retry ' +
            'schedule; their attempts so far stay and new ones are appended. Same `webhook-id`.',
          operationId: 'replayDeliveries',
          requestBody: jsonBody(DeliveryReplayRequest),
          responses: {
            '200': {
              description: 'What matched and was queued',
              content: jsonContent(DeliveryReplayResponse),
            },
            '400': errorResponse('`validation_failed`, with `issues`'),
          },
        }),
      },
      '/console': {
        get: {
          summary: 'The operator console (HTML; signs in with OPS_TOKEN when it is set)',
          responses: { '200': { description: 'HTML', content: { 'text/html': {} } } },
        },
      },
      ...probePaths({
        summary: 'The broker and the database are reachable',
        ready: 'Ready',
        notReady: 'Broker or database unreachable',
      }),
    },
  };
}
