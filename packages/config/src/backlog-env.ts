import { z } from 'zod';

/**
 * Admission from the real backlog (ingest API): past `MAX_BACKLOG` messages ready in the main
 * queue, new webhooks get 503 with a `Retry-After` computed from the backlog.
 */
export const BacklogEnv = z.object({
  /**
   * Messages ready in the main queue (retry queues and the DLQ not counted) past which new
   * webhooks are refused with 503 `backlog_full`; 0 turns admission control off. Default 500000.
   */
  MAX_BACKLOG: z.coerce.number().int().min(0).default(500_000),
});
export type BacklogEnv = z.infer<typeof BacklogEnv>;
