/** Why a publish was not confirmed. */
export type QueueUnavailableReason =
  | 'not_connected'
  | 'overloaded'
  | 'timeout'
  | 'nack'
  | 'unroutable'
  | 'channel_closed'
  | 'closing';

/**
 * The broker did not take responsibility for a message. Nothing about the message itself is
 * wrong; the caller may try again later (the ingest API answers 503).
 */
export class QueueUnavailableError extends Error {
  readonly code = 'QUEUE_UNAVAILABLE';
  readonly reason: QueueUnavailableReason;

  constructor(reason: QueueUnavailableReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QueueUnavailableError';
    this.reason = reason;
  }
}
