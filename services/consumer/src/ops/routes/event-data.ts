import type { EventsRepository } from '@webhooks/db';
import type { FastifyInstance } from 'fastify';
import { rowById } from './row-by-id.js';

/**
 * `GET /events/:id/data`: the event's `data` as the text PostgreSQL returns for it, untouched
 * by a JSON parser, so the console shows every digit as stored.
 */
export function eventDataRoutes(app: FastifyInstance, events: EventsRepository): void {
  app.get(
    '/events/:id/data',
    rowById({
      what: 'a stored event',
      find: (id) => events.findDataText(id),
      answer: (text, reply) => reply.type('application/json; charset=utf-8').send(text),
    }),
  );
}
