import type { FastifyReply } from 'fastify';
import type { z } from 'zod';

/** 400 `invalid_query` naming each field a zod schema refused (unknown parameters by name). */
export function badRequest(reply: FastifyReply, error: z.ZodError) {
  return invalidQuery(
    reply,
    error.issues.map((issue) => ({
      path: issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issue.path.join('.'),
      message: issue.message,
    })),
  );
}

/** 400 `invalid_query` with the given issues. */
export function invalidQuery(
  reply: FastifyReply,
  issues: Array<{ path: string; message: string }>,
) {
  return reply.code(400).send({ error: 'invalid_query', issues });
}
