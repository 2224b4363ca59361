import { RejectionReason, Rfc3339 } from '@webhooks/contracts';
import type {
  RejectedPosition,
  RejectedRequestsRepository,
  StoredRejectedRequest,
} from '@webhooks/db';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';

/** `GET /rejected`'s query (also the source of its OpenAPI parameters). */
export const RejectedQuery = z.strictObject({
  source: z.string().min(1).max(255).optional(),
  reason: RejectionReason.optional(),
  from: Rfc3339.optional(),
  to: Rfc3339.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(512).optional(),
});

/** Opaque to clients, like the events' cursor: the last row's position, base64url-encoded. */
function encodeCursor(position: RejectedPosition): string {
  return Buffer.from(JSON.stringify([position.receivedAt, position.id])).toString('base64url');
}

const IdParams = z.object({ id: z.uuid() });

const CursorPosition = z.tuple([Rfc3339, z.uuid()]);

function decodeCursor(cursor: string): RejectedPosition | undefined {
  try {
    const parsed = CursorPosition.safeParse(
      JSON.parse(Buffer.from(cursor, 'base64url').toString()),
    );
    return parsed.success ? { receivedAt: parsed.data[0], id: parsed.data[1] } : undefined;
  } catch {
    return undefined;
  }
}

function invalidQuery(reply: FastifyReply, issues: Array<{ path: string; message: string }>) {
  return reply.code(400).send({ error: 'invalid_query', issues });
}

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
  app.get('/rejected', async (request, reply) => {
    const query = RejectedQuery.safeParse(request.query);
    if (!query.success) {
      return invalidQuery(
        reply,
        query.error.issues.map((issue) => ({
          path: issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issue.path.join('.'),
          message: issue.message,
        })),
      );
    }
    const { cursor, ...filter } = query.data;
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    if (cursor !== undefined && after === undefined) {
      return invalidQuery(reply, [
        { path: 'cursor', message: 'not a cursor returned by this API' },
      ]);
    }
    const page = await rejected.find({ ...filter, after });
    return {
      items: page.items.map(toJson),
      nextCursor: page.next === undefined ? null : encodeCursor(page.next),
    };
  });

  app.get('/rejected/:id', async (request, reply) => {
    const params = IdParams.safeParse(request.params);
    if (!params.success) {
      return invalidQuery(reply, [{ path: 'id', message: 'must be the uuid of a kept request' }]);
    }
    const kept = await rejected.findById(params.data.id);
    if (kept === undefined) return reply.code(404).send({ error: 'not_found' });
    return toJson(kept);
  });
}
