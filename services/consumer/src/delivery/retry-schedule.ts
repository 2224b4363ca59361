import type { DeliveryStatus } from '@webhooks/db';

/** The longest a destination's `Retry-After` is waited for. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * What follows attempt number `attempt` (from 1) of a delivery: delivered on success; after a
 * failure the next attempt waits `retryDelaysMs[attempt - 1]`, and once the schedule is used up
 * the delivery has `failed` (it stays replayable). So a delivery is attempted at most
 * `retryDelaysMs.length + 1` times.
 *
 * A 429 (Too Many Requests) is not one of those failures: the next attempt waits for the
 * answer's `Retry-After` (at most an hour; without one, the delay this attempt would have had),
 * and the attempt number stays where it was (the database keeps it, and fails a delivery that
 * has had nothing but 429 for 24 hours).
 */
export function afterAttempt(options: {
  attempt: number;
  delivered: boolean;
  retryDelaysMs: readonly number[];
  nowMs: number;
  httpStatus?: number | undefined;
  retryAfter?: string | undefined;
}): { status: DeliveryStatus; nextAttemptAt?: Date } {
  if (options.delivered) return { status: 'delivered' };
  if (options.httpStatus === 429) {
    const scheduled =
      options.retryDelaysMs[options.attempt - 1] ?? options.retryDelaysMs.at(-1) ?? 1000;
    const waitMs = retryAfterMs(options.retryAfter, options.nowMs) ?? scheduled;
    return {
      status: 'pending',
      nextAttemptAt: new Date(options.nowMs + Math.min(waitMs, MAX_RETRY_AFTER_MS)),
    };
  }
  const delayMs = options.retryDelaysMs[options.attempt - 1];
  if (delayMs === undefined) return { status: 'failed' };
  return { status: 'pending', nextAttemptAt: new Date(options.nowMs + delayMs) };
}

/**
 * A `Retry-After` header's wait in ms from `nowMs`: delay-seconds (`120`) or an HTTP date (a
 * date in the past: 0). Undefined when absent or neither.
 */
export function retryAfterMs(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at) || !/[a-z]/i.test(text)) return undefined;
  return Math.max(0, at - nowMs);
}
