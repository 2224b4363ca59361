import { Rfc3339 } from '@webhooks/contracts';
import type { DeliveriesRepository, SubscriptionsRepository } from '@webhooks/db';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { SubscriptionFilter } from '../../delivery/subscription-settings.js';
import type { TestEventSender } from '../../delivery/test-event.js';
import { invalidBody } from './invalid-query.js';
import { idParam, invalidId } from './row-by-id.js';

const NOT_FOUND = { error: 'not_found' };

/** `POST /subscriptions/:id/backfill`: a window of stored time, narrowed perhaps further. */
export const BackfillRequest = z
  .strictObject({
    from: Rfc3339.meta({ description: 'Events stored at or after' }),
    to: Rfc3339.meta({ description: 'Events stored before; after `from`' }),
    sources: SubscriptionFilter.shape.sources.meta({
      description: "Only events of these sources (within the subscription's filter)",
    }),
    types: SubscriptionFilter.shape.types.meta({
      description:
        "Only events of these types, a trailing `*` a prefix (within the subscription's filter)",
    }),
    dryRun: z
      .boolean()
      .default(false)
      .meta({ description: 'Count the matching events, make no delivery' }),
  })
  .refine((body) => Date.parse(body.to) > Date.parse(body.from), {
    path: ['to'],
    message: 'must be after from',
  });

export const BackfillResponse = z.object({
  matched: z.int().meta({
    description:
      "Stored events in the window that match the subscription's filter (and the narrowing)",
  }),
  queued: z.int().meta({
    description:
      'Deliveries made, due now (0 in a dry run): matched events that had none for this subscription; one it has already is left as it is',
  }),
});

export const TestEventResponse = z.object({
  delivered: z.boolean().meta({ description: 'A 2xx came back' }),
  status: z.int().optional().meta({ description: "The destination's HTTP status, when one came" }),
  error: z
    .string()
    .optional()
    .meta({ description: 'Why no status came: timeout, refused, destination refused by policy' }),
  durationMs: z.int(),
});

/**
 * `POST /subscriptions/:id/backfill` (deliveries of events stored earlier) and
 * `POST /subscriptions/:id/test` (a signed test event, sent now, stored nowhere).
 */
export function subscriptionControlRoutes(
  app: FastifyInstance,
  deps: {
    subscriptions: SubscriptionsRepository;
    deliveries: DeliveriesRepository;
    /** Absent: `/test` is not served. */
    testEvents?: TestEventSender | undefined;
  },
): void {
  const { subscriptions, deliveries, testEvents } = deps;

  app.post('/subscriptions/:id/backfill', async (request, reply) => {
    const id = idParam(request);
    if (id === undefined) return invalidId(reply, 'a subscription');
    const body = BackfillRequest.safeParse(request.body ?? {});
    if (!body.success) return invalidBody(reply, body.error);
    if (!(await subscriptions.exists(id))) return reply.code(404).send(NOT_FOUND);
    const { dryRun, ...window } = body.data;
    return deliveries.backfill(id, window, { dryRun });
  });

  if (testEvents === undefined) return;
  // Sent whatever the subscription's state: testing a paused destination is how one learns it
  // can be resumed.
  app.post('/subscriptions/:id/test', async (request, reply) => {
    const id = idParam(request);
    if (id === undefined) return invalidId(reply, 'a subscription');
    const destination = await subscriptions.destination(id);
    if (destination === undefined) return reply.code(404).send(NOT_FOUND);
    return testEvents.send({ subscriptionId: id, ...destination });
  });
}
