import type { FastifyReply } from 'fastify';
import type { z } from 'zod';

/** 400 `invalid_query` naming each field a zod schema refused (unknown parameters by name). */
export function badRequest(reply: FastifyReply, error: z.ZodError) {
  return invalidQuery(reply, issuesOf(error));
}

/** 400 `validation_failed` naming each field of a request body a zod schema refused. */
export function invalidBody(reply: FastifyReply, error: z.ZodError) {
  return reply.code(400).send({ error: 'validation_failed', issues: issuesOf(error) });
}

/** Each issue with its dotted path (`filter.types.0`); unknown fields by name. */
function issuesOf(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.map((issue) => ({
    path:
      issue.code === 'unrecognized_keys'
        ? [...issue.path, issue.keys.join(',')].join('.')
        : issue.path.join('.'),
    message: issue.message,
  }));
}

/** 400 `invalid_query` with the given issues. */
export function invalidQuery(
  reply: FastifyReply,
  issues: Array<{ path: string; message: string }>,
) {
  return reply.code(400).send({ error: 'invalid_query', issues });
}
