import { z } from 'zod';

const positiveInt = z.coerce.number().int().positive();

/**
 * The quarantine of refused provider requests (bad signature, unknown source): the queue
 * `${QUEUE_NAME}_rejected` and its caps. Both services declare the queue, so both read these.
 */
export const QuarantineEnv = z.object({
  /** Keep `POST /webhook/:source` requests refused with 401 or 404. Default true. */
  KEEP_REJECTED: z.stringbool().default(true),
  /** Most requests waiting in the rejected queue; past it the oldest is dropped. Default 10000. */
  REJECTED_QUEUE_MAX_LENGTH: positiveInt.default(10_000),
  /** Most body bytes waiting in the rejected queue; past it the oldest is dropped. Default 64 MiB. */
  REJECTED_QUEUE_MAX_BYTES: positiveInt.default(67_108_864),
});
export type QuarantineEnv = z.infer<typeof QuarantineEnv>;

/** How long kept requests stay in `rejected_requests` (consumer and `pnpm retention`). */
export const RejectedRetentionEnv = z.object({
  /** Kept requests received longer ago than this many days are removed; 0 keeps all. Default 7. */
  REJECTED_RETENTION_DAYS: z.coerce.number().int().min(0).default(7),
  /** Most kept requests in the table; past it the oldest are removed. Default 100000. */
  REJECTED_MAX_ROWS: positiveInt.default(100_000),
});
export type RejectedRetentionEnv = z.infer<typeof RejectedRetentionEnv>;
