import type { DeliveryStatus } from '@webhooks/db';

/**
 * What follows attempt number `attempt` (from 1) of a delivery: delivered on success; after a
 * failure the next attempt waits `retryDelaysMs[attempt - 1]`, and once the schedule is used up
 * the delivery has `failed` (it stays replayable). So a delivery is attempted at most
 * `retryDelaysMs.length + 1` times.
 */
export function afterAttempt(options: {
  attempt: number;
  delivered: boolean;
  retryDelaysMs: readonly number[];
  nowMs: number;
}): { status: DeliveryStatus; nextAttemptAt?: Date } {
  if (options.delivered) return { status: 'delivered' };
  const delayMs = options.retryDelaysMs[options.attempt - 1];
  if (delayMs === undefined) return { status: 'failed' };
  return { status: 'pending', nextAttemptAt: new Date(options.nowMs + delayMs) };
}
