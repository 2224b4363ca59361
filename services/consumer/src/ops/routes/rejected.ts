import { RejectionReason, Rfc3339 } from '@webhooks/contracts';
import type { RejectedRequestsRepository, StoredRejectedRequest } from '@webhooks/db';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { pagedList } from './paged-list.js';
import { rowById } from './row-by-id.js';

/** `GET /rejected`'s query (also the source of its OpenAPI parameters). */
export const RejectedQuery = z.strictObject({
  source: z.string().min(1).max(255).optional(),
  reason: RejectionReason.optional(),
  from: Rfc3339.optional(),
  to: Rfc3339.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional(),
});

/** A kept request as JSON: the body as base64, since it is bytes that may not even be UTF-8. */
function toJson(request: StoredRejectedRequest) {
  const { body, ...rest } = request;
  return { ...rest, bodyBytes: body.length, bodyBase64: body.toString('base64') };
}

/**
 * `GET /rejected`: the quarantine, newest first — provider requests refused with 401 or 404,
 * with their headers (credentials removed) and body, and whether `pnpm rejected:replay` has
 * admitted them since. `GET /rejected/:id`: one of them, for the console's detail view.
 */
export function rejectedRoutes(app: FastifyInstance, rejected: RejectedRequestsRepository): void {
  app.get(
    '/rejected',
    pagedList({
      query: RejectedQuery,
      find: (filter) => rejected.find(filter),
      answer: (page) => ({ items: page.items.map(toJson), nextCursor: page.nextCursor }),
    }),
  );

  app.get(
    '/rejected/:id',
    rowById({
      what: 'a kept request',
      find: (id) => rejected.findById(id),
      answer: (kept) => toJson(kept),
    }),
  );
}
