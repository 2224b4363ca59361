import { type DeathReason, MessageHeader } from '@webhooks/contracts';
import type { DeadLettersRepository } from '@webhooks/db';
import type { Delivery } from '@webhooks/queue';
import type { Logger } from 'pino';
import { identifyDeadLetter } from './dead-letter-key.js';

/** One dead-lettering whose copy the broker has confirmed. */
export interface DeadLetterEntry {
  delivery: Delivery;
  /** The message id its DLQ copy carries: the delivery's, or the one given to the copy. */
  messageId: string;
  reason: DeathReason;
  error: string;
  /** Tries made, this one included. */
  attempts: number;
  requestId: string | undefined;
  /** When the copy was made. */
  at: Date;
}

/** Where the Settler reports what it dead-lettered. Never throws. */
export interface DeadLetterLog {
  record(entry: DeadLetterEntry): Promise<void>;
}

export interface DeadLetterTableLogOptions {
  deadLetters: Pick<DeadLettersRepository, 'record'>;
  logger: Logger;
  /** Counts dead letters that could not be recorded. */
  onUnrecorded?: () => void;
}

/**
 * Records dead letters in `dead_letters`. The queue holds the actionable copy by then, so a
 * failure to record loses no message: it is logged and counted, and the original is still
 * acked (requeueing it would put a second copy into the dead-letter queue on every try). Such
 * a message stays replayable with `pnpm dlq:replay`, which works on the queue itself.
 */
export function deadLetterTableLog(options: DeadLetterTableLogOptions): DeadLetterLog {
  return {
    record: async ({ delivery, messageId, reason, error, attempts, requestId, at }) => {
      // Keyed as a replay will find the DLQ copy: by that copy's message id, not the delivery's.
      const identity = identifyDeadLetter(delivery.body, messageId);
      const firstFailedAt = delivery.headers[MessageHeader.firstFailedAt];
      try {
        await options.deadLetters.record({
          ...identity,
          reason,
          lastError: error,
          attempts,
          firstFailedAt:
            typeof firstFailedAt === 'string' && !Number.isNaN(Date.parse(firstFailedAt))
              ? firstFailedAt
              : at.toISOString(),
          deadLetteredAt: at.toISOString(),
          body: delivery.body,
          requestId: requestId?.slice(0, 255),
        });
      } catch (err) {
        options.onUnrecorded?.();
        options.logger.error(
          { err, eventId: identity.eventId, requestId, reason },
          'dead letter is in the queue but could not be recorded in the database',
        );
      }
    },
  };
}
