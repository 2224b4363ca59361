import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { handleError } from './error-handler.js';
import type { EventPublisher } from './event-publisher.js';
import { requestIdOf } from './request-id.js';
import { healthRoutes } from './routes/health.js';
import { webhookRoute } from './routes/webhook.js';

export interface AppDeps {
  publisher: EventPublisher;
  logger: FastifyBaseLogger;
  /** Largest accepted body; larger ones get 413. */
  maxBodyBytes: number;
  /** `Retry-After` seconds on a 503. */
  retryAfterSeconds: number;
}

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

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-store');
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug(
      { method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime },
      'request completed',
    );
  });

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not_found' }));

  healthRoutes(app, () => deps.publisher.ready);
  webhookRoute(app, { publisher: deps.publisher, retryAfterSeconds: deps.retryAfterSeconds });
  return app;
}
