import { z } from 'zod';
import { EventId } from './webhook-body.js';

/** 200: published and confirmed by the broker. */
export const AcceptedResponse = z.object({
  status: z.literal('success'),
  /** The id the event is deduplicated and stored under. */
  id: EventId,
});
export type AcceptedResponse = z.infer<typeof AcceptedResponse>;

/** Every non-2xx body: a stable machine-readable `error` code, sometimes with details. */
export const ErrorResponse = z.object({
  error: z.string().meta({ examples: ['invalid_payload', 'queue_unavailable'] }),
  message: z.string().optional(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;

/**
 * 503 while the backlog waiting to be stored is past `MAX_BACKLOG`: the API sheds load with a
 * `Retry-After` computed from the backlog and its drain rate, rather than letting the broker
 * run into its memory or disk alarm.
 */
export const BacklogFullResponse = ErrorResponse.extend({
  error: z.literal('backlog_full'),
  /** Messages waiting in the main queue at the last read. */
  backlog: z.number().int().nonnegative(),
  /** `MAX_BACKLOG`. */
  limit: z.number().int().positive(),
});
export type BacklogFullResponse = z.infer<typeof BacklogFullResponse>;
