import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/**
 * Requires `Authorization: Bearer <token>` on every route of `scope`. Digests are compared so
 * the comparison takes the same time whatever the length or content of the guess.
 */
export function requireBearerToken(scope: FastifyInstance, token: string): void {
  const expected = digest(token);
  scope.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization;
    const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : '';
    if (given !== '' && timingSafeEqual(digest(given), expected)) return;
    return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized' });
  });
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * For routes that must never be open, such as those that choose where events are sent: 403
 * `ops_token_required` on every route of `scope` while no token is set, the bearer token
 * otherwise.
 */
export function requireOpsToken(scope: FastifyInstance, token: string | undefined): void {
  if (token !== undefined) {
    requireBearerToken(scope, token);
    return;
  }
  scope.addHook('onRequest', async (_request, reply) =>
    reply.code(403).send({ error: 'ops_token_required' }),
  );
}
