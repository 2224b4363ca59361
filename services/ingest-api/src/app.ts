import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { handleError } from './error-handler.js';
import type { EventPublisher } from './event-publisher.js';
import type { IngestMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { requestIdOf } from './request-id.js';
import { healthRoutes } from './routes/health.js';
import { type ProviderSources, providerWebhookRoutes } from './routes/provider-webhook.js';
import { webhookRoute } from './routes/webhook.js';

export interface AppDeps {
  publisher: EventPublisher;
  logger: FastifyBaseLogger;
  /** Largest accepted body; larger ones get 413. */
  maxBodyBytes: number;
  /** `Retry-After` seconds on a 503. */
  retryAfterSeconds: number;
  /** Sources of `POST /webhook/:source` and their signature schemes; absent, every one is 404. */
  providerSources?: ProviderSources;
  metrics: IngestMetrics;
}

/** `"error":"some_code"` at the start of an error body: the rejection reason of a webhook. */
const ERROR_CODE = /^\{"error":"([a-z_]{1,64})"/;

/**
 * The ingest API. It never listens, reads no environment and owns no connection: `main.ts`
 * does those, and tests drive it with `app.inject`.
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.maxBodyBytes,
    genReqId: requestIdOf,
    // One line per request at info would be the hot path's biggest cost; see onResponse below.
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'requestId',
    }),
    return503OnClosing: true,
    // Slow clients cannot hold a socket forever.
    requestTimeout: 30_000,
    connectionTimeout: 30_000,
    keepAliveTimeout: 5_000,
  });

  // Only JSON is accepted; without this, Fastify would parse text/plain into a string.
  app.removeContentTypeParser('text/plain');

  const { metrics } = deps;
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
    // Every webhook route's outcome, including refusals raised before the handler ran.
    if (request.routeOptions.url?.startsWith('/webhook') === true) {
      if (reply.statusCode === 200) metrics.accepted.inc();
      else {
        const reason = typeof payload === 'string' ? ERROR_CODE.exec(payload)?.[1] : undefined;
        metrics.rejected.inc({ reason: reason ?? `http_${reply.statusCode}` });
      }
    }
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.requests.inc({ route, method: request.method, status: reply.statusCode });
    metrics.requestDuration.observe({ route, method: request.method }, seconds);
    request.log.debug(
      { method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime },
      'request completed',
    );
  });

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not_found' }));

  app.register(swagger, {
    mode: 'static',
    specification: { document: openApiDocument() as never },
  });
  app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  healthRoutes(app, () => deps.publisher.ready);
  webhookRoute(app, { publisher: deps.publisher, retryAfterSeconds: deps.retryAfterSeconds });
  app.register(providerWebhookRoutes, {
    publisher: deps.publisher,
    retryAfterSeconds: deps.retryAfterSeconds,
    providerSources: deps.providerSources,
  });
  return app;
}
