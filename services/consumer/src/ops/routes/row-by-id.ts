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
    const params = IdParams.safeParse(request.params);
    if (!params.success) {
      return invalidQuery(reply, [{ path: 'id', message: `must be the uuid of ${options.what}` }]);
    }
    const row = await options.find(params.data.id);
    if (row === undefined) return reply.code(404).send({ error: 'not_found' });
    return options.answer === undefined ? row : options.answer(row, reply);
  };
}
