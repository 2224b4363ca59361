import type { Channel } from 'amqplib';
import type { QueueType } from './topology.js';

export interface RejectedQueueOptions {
  /** The main queue's name; the rejected queue is `${queue}_rejected`. */
  queue: string;
  /** Most messages it holds; past it the oldest is dropped. */
  maxLength: number;
  /** Most body bytes it holds; past it the oldest is dropped. */
  maxBytes: number;
  queueType: QueueType;
}

export interface RejectedQueue {
  name: string;
  maxLength: number;
  maxBytes: number;
  queueType: QueueType;
}

/** `${queue}_rejected`: the quarantine queue that goes with the main queue `queue`. */
export function rejectedQueueName(queue: string): string {
  return `${queue}_rejected`;
}

export function rejectedQueueFor(options: RejectedQueueOptions): RejectedQueue {
  return {
    name: rejectedQueueName(options.queue),
    maxLength: options.maxLength,
    maxBytes: options.maxBytes,
    queueType: options.queueType,
  };
}

/** The settings both services read the quarantine queue from (see `QuarantineEnv`). */
export interface RejectedQueueSettings {
  QUEUE_NAME: string;
  QUEUE_TYPE: QueueType;
  REJECTED_QUEUE_MAX_LENGTH: number;
  REJECTED_QUEUE_MAX_BYTES: number;
}

/** The quarantine queue as the settings describe it, like `topologyFromSettings`. */
export function rejectedQueueFromSettings(settings: RejectedQueueSettings): RejectedQueue {
  return rejectedQueueFor({
    queue: settings.QUEUE_NAME,
    maxLength: settings.REJECTED_QUEUE_MAX_LENGTH,
    maxBytes: settings.REJECTED_QUEUE_MAX_BYTES,
    queueType: settings.QUEUE_TYPE,
  });
}

/**
 * Declares the quarantine queue. Anyone can send refused requests, so it is capped in count
 * and bytes, and the broker drops the oldest past either cap (`drop-head`): a flood of forged
 * requests costs at most the caps and never blocks a publisher. It dead-letters nowhere.
 * Idempotent, with the same caps; other caps fail with PRECONDITION_FAILED (delete the queue
 * or keep the settings).
 */
export async function assertRejectedQueue(channel: Channel, queue: RejectedQueue): Promise<void> {
  await channel.assertQueue(queue.name, {
    durable: true,
    arguments: {
      ...(queue.queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {}),
      'x-max-length': queue.maxLength,
      'x-max-length-bytes': queue.maxBytes,
      'x-overflow': 'drop-head',
    },
  });
}
