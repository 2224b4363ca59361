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

/**
 * A queue exists with other arguments than the topology declares, most often the other queue
 * type (`QUEUE_TYPE`). The broker refuses the declaration; retrying cannot help until the
 * setting or the queue changes, so the message says which queue and what to do.
 */
export class TopologyMismatchError extends Error {
  readonly code = 'TOPOLOGY_MISMATCH';
  readonly queue: string;

  constructor(queue: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TopologyMismatchError';
    this.queue = queue;
  }
}
