import type { FastifyInstance } from 'fastify';
import type { Admission } from '../backlog-admission.js';

/**
 * `/healthz`: the process answers. `/readyz`: it has warmed up (see `WarmUp`) and can reach the
 * broker (503 when not).
 * While the backlog is past `MAX_BACKLOG` it stays 200 with `admission: "shedding"`: the API
 * is alive and answering honest 503s; taking it out of a load balancer would not help.
 */
export function healthRoutes(
  app: FastifyInstance,
  options: { isReady: () => boolean; isWarm: () => boolean; admission: Admission },
): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const { admission } = options;
    if (!options.isReady()) {
      return reply.code(503).send({ status: 'unavailable', broker: 'disconnected' });
    }
    if (!options.isWarm()) {
      return reply.code(503).send({ status: 'warming_up', broker: 'connected' });
    }
    return {
      status: 'ready',
      broker: 'connected',
      admission: admission.state,
      ...(admission.backlog === undefined ? {} : { backlog: admission.backlog }),
    };
  });
}
