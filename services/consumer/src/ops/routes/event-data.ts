import type { EventsRepository } from '@webhooks/db';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

const IdParams = z.object({ id: z.uuid() });

/**
 * `GET /events/:id/data`: the event's `data` as the text PostgreSQL returns for it, untouched
 * by a JSON parser, so the console shows every digit as stored.
 */
export function eventDataRoutes(app: FastifyInstance, events: EventsRepository): void {
  app.get('/events/:id/data', async (request, reply) => {
    const params = IdParams.safeParse(request.params);
    if (!params.success) {
      return reply.code(400).send({
        error: 'invalid_query',
        issues: [{ path: 'id', message: 'must be the uuid of a stored event' }],
      });
    }
    const text = await events.findDataText(params.data.id);
    if (text === undefined) return reply.code(404).send({ error: 'not_found' });
    return reply.type('application/json; charset=utf-8').send(text);
  });
}
