import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { invalidQuery } from './invalid-query.js';

const IdParams = z.object({ id: z.uuid() });

export interface RowByIdOptions<T> {
  /** What the id names, for the 400: `a stored event`. */
  what: string;
  /** The row, or undefined when there is none. */
  find: (id: string) => Promise<T | undefined>;
  /** Sends the row; by default it is answered as JSON as it is. */
  answer?: (row: T, reply: FastifyReply) => unknown;
}

/**
 * The handler of a `GET …/:id` (`/events/:id`, `/events/:id/data`, `/dead-letters/:id`,
 * `/rejected/:id`): 400 `invalid_query` when the id is not a uuid, 404 `not_found` when no
 * row has it.
 */
export function rowById<T>(options: RowByIdOptions<T>) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const id = idParam(request);
    if (id === undefined) return invalidId(reply, options.what);
    const row = await options.find(id);
    if (row === undefined) return reply.code(404).send({ error: 'not_found' });
    return options.answer === undefined ? row : options.answer(row, reply);
  };
}

/** The `:id` of a route by id, or undefined when it is not a uuid. */
export function idParam(request: FastifyRequest): string | undefined {
  const params = IdParams.safeParse(request.params);
  return params.success ? params.data.id : undefined;
}

/** 400 `invalid_query` for an `:id` that is not a uuid; `what` it names: `a stored event`. */
export function invalidId(reply: FastifyReply, what: string) {
  return invalidQuery(reply, [{ path: 'id', message: `must be the uuid of ${what}` }]);
}
