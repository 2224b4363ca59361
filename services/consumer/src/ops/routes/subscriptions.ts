import {
  type Subscription,
  SubscriptionNameTakenError,
  type SubscriptionsRepository,
} from '@webhooks/db';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { generateSubscriptionSecret } from '../../delivery/subscription-secret.js';
import { CreateSubscription, UpdateSubscription } from '../../delivery/subscription-settings.js';
import { decodeNameCursor, encodeNameCursor, INVALID_CURSOR } from './cursor.js';
import { badRequest, invalidBody } from './invalid-query.js';
import { idParam, invalidId, rowById } from './row-by-id.js';

export const SubscriptionsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(1024).optional(),
});

const time = z.string().meta({ description: 'RFC 3339 UTC, microseconds' });

/** A subscription as every route here answers it. */
export const SubscriptionJson = z.object({
  id: z.uuid(),
  name: z.string(),
  url: z.string(),
  filter: z
    .object({ sources: z.array(z.string()).optional(), types: z.array(z.string()).optional() })
    .nullable()
    .meta({ description: 'null: every event' }),
  retryDelaysMs: z.array(z.int()),
  timeoutMs: z.int(),
  maxInFlight: z.int(),
  rateLimitPerSecond: z
    .int()
    .nullable()
    .meta({ description: 'Most deliveries started per second, across every process; null: none' }),
  ordering: z
    .object({ key: z.string() })
    .nullable()
    .meta({ description: 'Events of one key are sent one at a time, in the order stored' }),
  state: z.enum(['active', 'paused']),
  pausedReason: z.string().nullable().meta({
    description:
      'Why the senders paused it (every attempt failed for DELIVERY_AUTO_PAUSE_AFTER_MS, and the latest error); null when active or paused by an operator',
  }),
  pausedAt: time.nullable().meta({ description: 'When it was paused; null when active' }),
  createdAt: time,
  updatedAt: time,
  previousSecretExpiresAt: time.nullable().meta({
    description: 'Until when deliveries are also signed with the secret rotated out',
  }),
  secret: z.string().optional().meta({
    description: 'Only in the answer that creates the subscription or sets a new secret',
  }),
  health: z.object({
    deliveredLastHour: z.int(),
    failedLastHour: z.int().meta({ description: 'Retries exhausted within the last hour' }),
    failed: z.int().meta({ description: 'Retries exhausted, whenever: replayable' }),
    pending: z.int(),
    lastError: z
      .object({ at: time, error: z.string().meta({ description: 'The error, or HTTP <status>' }) })
      .nullable()
      .meta({ description: 'The latest attempt without a 2xx' }),
  }),
});

const NAME_TAKEN = { error: 'name_taken' };
const NOT_FOUND = { error: 'not_found' };

/** The subscription with its secret, in the order the other routes show its fields. */
function withSecret({ health, ...settings }: Subscription, secret: string) {
  return { ...settings, secret, health };
}

/** Runs a write; a name another subscription has is answered 409 `name_taken`. */
async function unlessNameTaken<T>(reply: FastifyReply, write: () => Promise<T>) {
  try {
    return await write();
  } catch (err) {
    if (err instanceof SubscriptionNameTakenError) return reply.code(409).send(NAME_TAKEN);
    throw err;
  }
}

/**
 * `/subscriptions`: where stored events are sent. Secrets are shown once, in the answer that
 * sets them, never by a read.
 */
export function subscriptionRoutes(app: FastifyInstance, subscriptions: SubscriptionsRepository) {
  app.get('/subscriptions', async (request, reply) => {
    const query = SubscriptionsQuery.safeParse(request.query);
    if (!query.success) return badRequest(reply, query.error);
    const { cursor, limit } = query.data;
    const after = cursor === undefined ? undefined : decodeNameCursor(cursor);
    if (cursor !== undefined && after === undefined) return reply.code(400).send(INVALID_CURSOR);
    const page = await subscriptions.list({ after, limit });
    return {
      items: page.items,
      nextCursor: page.next === undefined ? null : encodeNameCursor(page.next),
    };
  });

  app.get(
    '/subscriptions/:id',
    rowById({ what: 'a subscription', find: (id) => subscriptions.findById(id) }),
  );

  app.post('/subscriptions', async (request, reply) => {
    const body = CreateSubscription.safeParse(request.body);
    if (!body.success) return invalidBody(reply, body.error);
    const { secret = generateSubscriptionSecret(), ...settings } = body.data;
    return unlessNameTaken(reply, async () => {
      const created = await subscriptions.create({ ...settings, secret });
      return reply
        .code(201)
        .header('location', `/subscriptions/${created.id}`)
        .send(withSecret(created, secret));
    });
  });

  app.patch('/subscriptions/:id', async (request, reply) => {
    const id = idParam(request);
    if (id === undefined) return invalidId(reply, 'a subscription');
    const body = UpdateSubscription.safeParse(request.body);
    if (!body.success) return invalidBody(reply, body.error);
    const changes = body.data;
    return unlessNameTaken(reply, async () => {
      const updated = await subscriptions.update(id, changes);
      if (updated === undefined) return reply.code(404).send(NOT_FOUND);
      return changes.secret === undefined ? updated : withSecret(updated, changes.secret);
    });
  });

  // Paused: its deliveries keep being made and wait in the table; none is sent until resumed.
  for (const [action, state] of [
    ['pause', 'paused'],
    ['resume', 'active'],
  ] as const) {
    app.post(`/subscriptions/:id/${action}`, async (request, reply) => {
      const id = idParam(request);
      if (id === undefined) return invalidId(reply, 'a subscription');
      const changed = await subscriptions.setState(id, state);
      if (changed === undefined) return reply.code(404).send(NOT_FOUND);
      return changed;
    });
  }

  app.delete('/subscriptions/:id', async (request, reply) => {
    const id = idParam(request);
    if (id === undefined) return invalidId(reply, 'a subscription');
    const outcome = await subscriptions.delete(id);
    if (outcome === 'not_found') return reply.code(404).send(NOT_FOUND);
    if (outcome === 'active') return reply.code(409).send({ error: 'subscription_active' });
    return reply.code(204).send();
  });
}
