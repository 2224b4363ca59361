import type {
  DeadLettersRepository,
  DeliveriesRepository,
  EventsRepository,
  RejectedRequestsRepository,
  SubscriptionsRepository,
} from '@webhooks/db';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import type { Registry } from 'prom-client';
import type { ReplaySelection } from '../dead-letters/selection-replay.js';
import type { TestEventSender } from '../delivery/test-event.js';
import { consumerOpenApiDocument } from './openapi.js';
import type { Overview } from './ops-overview.js';
import { consoleRoutes } from './routes/console.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { eventDataRoutes } from './routes/event-data.js';
import { eventsRoutes } from './routes/events.js';
import { requireBearerToken, requireOpsToken } from './routes/ops-token.js';
import { rejectedRoutes } from './routes/rejected.js';
import { subscriptionControlRoutes } from './routes/subscription-controls.js';
import { subscriptionRoutes } from './routes/subscriptions.js';

export interface Readiness {
  broker: boolean;
  database: boolean;
}

export interface OpsAppDeps {
  logger: FastifyBaseLogger;
  /** Checks the broker connection and the database. */
  readiness: () => Promise<Readiness>;
  events: EventsRepository;
  /** The quarantine's table, served at `GET /rejected`; absent, that route is not served. */
  rejected?: RejectedRequestsRepository;
  metricsRegistry: Registry;
  /**
   * When set, every route but `/healthz`, `/readyz`, `/metrics`, `/docs/json` and the console's
   * static files requires it as a bearer token. Unset, those of `delivery` answer 403.
   */
  opsToken?: string | undefined;
  /** The dead-letter API, the overview and the console (served when all three are given). */
  operations?: {
    deadLetters: DeadLettersRepository;
    replay: ReplaySelection;
    overview: () => Promise<Overview>;
  };
  /**
   * Where stored events are sent: `/subscriptions`, `/deliveries` (served when given). These routes are never
   * open: without `opsToken` they answer 403 `ops_token_required`.
   */
  delivery?: {
    subscriptions: SubscriptionsRepository;
    deliveries: DeliveriesRepository;
    /** Sends `POST /subscriptions/:id/test`'s test events; absent, that route is not served. */
    testEvents?: TestEventSender | undefined;
  };
}

/** The consumer's HTTP surface. Never listens by itself; `main.ts` does. */
export function buildOpsApp(deps: OpsAppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger,
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'requestId',
    }),
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
    // JSON and metrics: nothing to render or frame. The console's files set their own policy.
    if (!reply.hasHeader('content-security-policy')) {
      reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    }
    reply.header('referrer-policy', 'no-referrer');
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not_found' }));
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: 'bad_request', message: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal_error' });
  });

  // Health and metrics stay open: orchestrators and Prometheus scrape them without a token.
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const { broker, database } = await deps.readiness();
    const body = {
      status: broker && database ? 'ready' : 'unavailable',
      broker: broker ? 'connected' : 'disconnected',
      database: database ? 'reachable' : 'unreachable',
    };
    return reply.code(broker && database ? 200 : 503).send(body);
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(deps.metricsRegistry.contentType).send(await deps.metricsRegistry.metrics()),
  );

  app.get('/docs/json', async () => consumerOpenApiDocument());

  const { operations } = deps;
  if (operations !== undefined) consoleRoutes(app);
  app.register(async (scope) => {
    if (deps.opsToken !== undefined) requireBearerToken(scope, deps.opsToken);
    eventsRoutes(scope, deps.events);
    eventDataRoutes(scope, deps.events);
    if (operations !== undefined) {
      deadLetterRoutes(scope, operations);
      scope.get('/overview', () => operations.overview());
    }
    if (deps.rejected !== undefined) rejectedRoutes(scope, deps.rejected);
  });
  const { delivery } = deps;
  if (delivery !== undefined) {
    // A subscription can send every stored event anywhere: no token, no access at all.
    app.register(async (scope) => {
      requireOpsToken(scope, deps.opsToken);
      subscriptionRoutes(scope, delivery.subscriptions);
      subscriptionControlRoutes(scope, delivery);
      deliveryRoutes(scope, {
        deliveries: delivery.deliveries,
        subscriptionExists: (id) => delivery.subscriptions.exists(id),
      });
    });
  }
  return app;
}
