import { Rfc3339 } from '@webhooks/contracts';
import type { EventsRepository } from '@webhooks/db';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { badRequest } from './invalid-query.js';
import { pagedList } from './paged-list.js';
import { rowById } from './row-by-id.js';
import { eventsPageJson, storedEventJson } from './stored-event-json.js';

const name = z.string().min(1).max(255);

/** Longest `contains` filter: a handful of fields, not a document. */
const MAX_CONTAINS_CHARS = 2048;

/**
 * JSON text of an object that `data` must contain (jsonb `@>`). Checked here, then handed to
 * PostgreSQL as text, so a large number compares with every digit.
 */
export const ContainsFilter = z
  .string()
  .max(MAX_CONTAINS_CHARS)
  .refine(isJsonObjectText, { message: 'must be a JSON object, e.g. {"order":{"id":42}}' })
  .meta({ description: 'JSON object that `data` contains (jsonb @>)' });

function isJsonObjectText(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

export const EventsQuery = z.strictObject({
  source: name.optional(),
  type: name.optional(),
  from: Rfc3339.optional(),
  to: Rfc3339.optional(),
  eventId: name.optional(),
  contains: ContainsFilter.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
});

export const StatsQuery = z.strictObject({
  from: Rfc3339.optional(),
  to: Rfc3339.optional(),
});

const DAY_MS = 24 * 60 * 60 * 1000;

/** Events are sent as JSON text built around `data` as stored (see `stored-event-json.ts`). */
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * `GET /events`, `GET /events/:id` and `GET /stats`: what is stored, read-only. Numbers in an
 * event's `data` are shown exactly as stored.
 */
export function eventsRoutes(app: FastifyInstance, events: EventsRepository): void {
  app.get(
    '/events',
    pagedList({
      query: EventsQuery,
      find: (filter) => events.findEvents(filter),
      answer: (page, reply) =>
        reply.type(JSON_TYPE).send(eventsPageJson(page.items, page.nextCursor)),
    }),
  );

  app.get(
    '/events/:id',
    rowById({
      what: 'a stored event',
      find: (id) => events.findById(id),
      answer: (event, reply) => reply.type(JSON_TYPE).send(storedEventJson(event)),
    }),
  );

  app.get('/stats', async (request, reply) => {
    const query = StatsQuery.safeParse(request.query);
    if (!query.success) return badRequest(reply, query.error);
    const to = query.data.to ?? new Date().toISOString();
    const from = query.data.from ?? new Date(Date.parse(to) - DAY_MS).toISOString();
    const counts = await events.countBySourceAndType({ from, to });
    const total = counts.reduce((sum, c) => sum + c.count, 0);
    return { from, to, total, counts };
  });
}
