import type { EventsRepository, RejectedRequestsRepository } from '@webhooks/db';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import type { Registry } from 'prom-client';
import { eventsRoutes } from './routes/events.js';
import { requireBearerToken } from './routes/ops-token.js';
import { rejectedRoutes } from './routes/rejected.js';

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
  /** When set, `/events` and `/stats` require it as a bearer token. */
  opsToken?: string | undefined;
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
    // JSON and metrics only: nothing here is a document to render or frame.
    reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
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

  app.register(async (scope) => {
    if (deps.opsToken !== undefined) requireBearerToken(scope, deps.opsToken);
    eventsRoutes(scope, deps.events);
    if (deps.rejected !== undefined) rejectedRoutes(scope, deps.rejected);
  });
  return app;
}
