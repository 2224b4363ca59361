import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';

export interface Readiness {
  broker: boolean;
  database: boolean;
}

export interface OpsAppDeps {
  logger: FastifyBaseLogger;
  /** Checks the broker connection and the database. */
  readiness: () => Promise<Readiness>;
}

/** The consumer's small HTTP surface. Never listens by itself; `main.ts` does. */
export function buildOpsApp(deps: OpsAppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger,
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'requestId',
    }),
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not_found' }));
  app.setErrorHandler((error, request, reply) => {
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal_error' });
  });

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
  return app;
}
