import { DeathReason, Rfc3339 } from '@webhooks/contracts';
import type { DeadLetterSelection, DeadLettersRepository } from '@webhooks/db';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ReplaySelection } from '../../dead-letters/selection-replay.js';
import { badRequest } from './invalid-query.js';
import { pagedList } from './paged-list.js';
import { rowById } from './row-by-id.js';

const name = z.string().min(1).max(255);

/** The filters of a dead-letter search; a replay by filter takes the same ones. */
export const DeadLetterFilter = z.strictObject({
  source: name.optional(),
  type: name.optional(),
  reason: DeathReason.optional(),
  eventId: name.optional(),
  from: Rfc3339.optional().meta({ description: 'Dead-lettered at or after' }),
  to: Rfc3339.optional().meta({ description: 'Dead-lettered before' }),
});

export const DeadLettersQuery = DeadLetterFilter.extend({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(512).optional(),
});

/** Most ids in one replay request. */
const MAX_REPLAY_IDS = 1000;

export const ReplayRequest = DeadLetterFilter.extend({
  ids: z
    .array(z.uuid())
    .min(1)
    .max(MAX_REPLAY_IDS)
    .optional()
    .meta({ description: 'Replay these dead letters; no filter fields with it' }),
  dryRun: z
    .boolean()
    .default(false)
    .meta({ description: 'Count what would move, move nothing, leave the queue untouched' }),
}).refine(
  (body) =>
    body.ids === undefined || Object.keys(body).every((key) => key === 'ids' || key === 'dryRun'),
  { message: 'give either ids or filter fields, not both' },
);

export const ReplayResponse = z.object({
  matched: z.number().int().meta({ description: 'Selected dead letters waiting in the queue' }),
  moved: z.number().int().meta({
    description:
      'Messages moved back to the main queue: every one in the queue of each selected dead letter, so it can exceed matched (0 in a dry run)',
  }),
});

export interface DeadLetterRoutesDeps {
  deadLetters: DeadLettersRepository;
  replay: ReplaySelection;
}

/**
 * `GET /dead-letters`, `GET /dead-letters/:id` read the `dead_letters` table, never the queue.
 * `POST /dead-letters/replay` moves the selected ones back to the main queue.
 */
export function deadLetterRoutes(app: FastifyInstance, deps: DeadLetterRoutesDeps): void {
  app.get(
    '/dead-letters',
    pagedList({ query: DeadLettersQuery, find: (filter) => deps.deadLetters.find(filter) }),
  );

  app.get(
    '/dead-letters/:id',
    rowById({ what: 'a dead letter', find: (id) => deps.deadLetters.findById(id) }),
  );

  app.post('/dead-letters/replay', async (request, reply) => {
    const body = ReplayRequest.safeParse(request.body ?? {});
    if (!body.success) return badRequest(reply, body.error);
    const { ids, dryRun, ...filter } = body.data;
    const selection: DeadLetterSelection = ids === undefined ? { filter } : { ids };
    try {
      return await deps.replay(selection, { dryRun });
    } catch (err) {
      request.log.warn({ err }, 'replay failed');
      return reply.code(503).header('retry-after', '5').send({
        error: 'replay_failed',
        message: 'the broker or the database did not answer; nothing was lost, try again',
      });
    }
  });
}
