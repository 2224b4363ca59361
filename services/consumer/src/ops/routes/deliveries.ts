import { Rfc3339 } from '@webhooks/contracts';
import type { DeliveriesRepository, DeliverySelection } from '@webhooks/db';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { invalidBody } from './invalid-query.js';
import { pagedList } from './paged-list.js';
import { idParam, invalidId, rowById } from './row-by-id.js';

const DeliveryStatus = z.enum(['pending', 'delivered', 'failed']);

/** The filters of a subscription's deliveries; a replay by filter takes the same ones. */
export const DeliveryFilter = z.strictObject({
  status: DeliveryStatus.optional(),
  eventId: z.string().min(1).max(255).optional().meta({ description: "The event's own id" }),
  from: Rfc3339.optional().meta({ description: 'Event stored at or after' }),
  to: Rfc3339.optional().meta({ description: 'Event stored before' }),
});

export const DeliveriesQuery = DeliveryFilter.extend({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
});

/** Most ids in one replay request. */
const MAX_REPLAY_IDS = 1000;

export const DeliveryReplayRequest = z
  .strictObject({
    ids: z
      .array(z.uuid())
      .min(1)
      .max(MAX_REPLAY_IDS)
      .optional()
      .meta({ description: 'Send these deliveries again; no other field with it' }),
    subscriptionId: z
      .uuid()
      .optional()
      .meta({ description: 'Send again the deliveries of this subscription that match' }),
    ...DeliveryFilter.shape,
    dryRun: z
      .boolean()
      .default(false)
      .meta({ description: 'Count what would be sent again, change nothing' }),
  })
  .refine(
    (body) =>
      body.ids === undefined
        ? body.subscriptionId !== undefined
        : Object.keys(body).every((key) => key === 'ids' || key === 'dryRun'),
    { message: 'give either ids, or subscriptionId with optional filters' },
  );

export const DeliveryReplayResponse = z.object({
  matched: z.number().int().meta({ description: 'Deliveries selected' }),
  queued: z.number().int().meta({
    description:
      'Deliveries made due now, at the start of their retry schedule (0 in a dry run; one being sent right now is left to finish)',
  }),
});

/**
 * `GET /subscriptions/:id/deliveries`, `GET /deliveries/:id` (with every attempt) and
 * `POST /deliveries/replay`: the record of what was sent where, and sending it again.
 */
export function deliveryRoutes(
  app: FastifyInstance,
  deps: {
    deliveries: DeliveriesRepository;
    /** Whether a subscription exists: an unknown one is 404, not an empty list. */
    subscriptionExists: (id: string) => Promise<boolean>;
  },
): void {
  const { deliveries } = deps;
  app.get('/subscriptions/:id/deliveries', async (request, reply) => {
    const subscriptionId = idParam(request);
    if (subscriptionId === undefined) return invalidId(reply, 'a subscription');
    if (!(await deps.subscriptionExists(subscriptionId))) {
      return reply.code(404).send({ error: 'not_found' });
    }
    return pagedList({
      query: DeliveriesQuery,
      find: (filter) => deliveries.find({ ...filter, subscriptionId }),
    })(request, reply);
  });

  app.get(
    '/deliveries/:id',
    rowById({ what: 'a delivery', find: (id) => deliveries.findById(id) }),
  );

  app.post('/deliveries/replay', async (request, reply) => {
    const body = DeliveryReplayRequest.safeParse(request.body ?? {});
    if (!body.success) return invalidBody(reply, body.error);
    const { ids, subscriptionId, dryRun, ...filter } = body.data;
    const selection: DeliverySelection =
      ids !== undefined
        ? { ids }
        : { filter: { ...filter, subscriptionId: subscriptionId as string } };
    return deliveries.replay(selection, { dryRun });
  });
}
