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
