import type { FastifyInstance } from 'fastify';

/** `/healthz`: the process answers. `/readyz`: it can also reach the broker. */
export function healthRoutes(app: FastifyInstance, isReady: () => boolean): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (isReady()) return { status: 'ready', broker: 'connected' };
    return reply.code(503).send({ status: 'unavailable', broker: 'disconnected' });
  });
}
