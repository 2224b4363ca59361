import type { KeysetPosition, Page } from '@webhooks/db';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { decodeCursor, encodeCursor, INVALID_CURSOR } from './cursor.js';
import { badRequest } from './invalid-query.js';

/** A page as a paged list answers it: `nextCursor` is null on the last page. */
export interface PageAnswer<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PagedListOptions<Q extends { cursor?: string | undefined }, T> {
  /** The list's query: its filters, `limit` and `cursor`. */
  query: z.ZodType<Q>;
  /** One page matching the filters, after the cursor's position. */
  find: (filter: Omit<Q, 'cursor'> & { after: KeysetPosition | undefined }) => Promise<Page<T>>;
  /** Sends the page; by default it is answered as JSON as it is. */
  answer?: (page: PageAnswer<T>, reply: FastifyReply) => unknown;
}

/**
 * The handler of every paged list (`GET /events`, `/dead-letters`, `/rejected`): checks the
 * query (400 `invalid_query` naming each bad parameter, or the cursor), finds the page after
 * the cursor's position, and answers it with the cursor of the next one.
 */
export function pagedList<Q extends { cursor?: string | undefined }, T>(
  options: PagedListOptions<Q, T>,
) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const query = options.query.safeParse(request.query);
    if (!query.success) return badRequest(reply, query.error);
    const { cursor, ...filter } = query.data;
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && after === undefined) return reply.code(400).send(INVALID_CURSOR);
    const page = await options.find({ ...filter, after });
    const answer: PageAnswer<T> = {
      items: page.items,
      nextCursor: page.next === undefined ? null : encodeCursor(page.next),
    };
    return options.answer === undefined ? answer : options.answer(answer, reply);
  };
}
