import type { Channel, Options } from 'amqplib';
import { TopologyMismatchError } from './errors.js';

export type QueueType = 'classic' | 'quorum';

export interface TopologyOptions {
  /** Exchange the ingest API publishes to (direct, durable). */
  exchange: string;
  /** Main queue; the DLQ and retry queues are named after it. */
  queue: string;
  /** One retry queue per delay, in order of the attempt they follow. */
  retryDelaysMs: readonly number[];
  queueType: QueueType;
}

export interface Topology {
  exchange: string;
  queue: string;
  /** The main queue is bound to the exchange with its own name as routing key. */
  routingKey: string;
  deadLetterQueue: string;
  retryQueues: ReadonlyArray<{ delayMs: number; name: string }>;
  queueType: QueueType;
}

/** Messages left unconsumed this long move to the DLQ rather than vanish. */
const MAIN_QUEUE_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** `1000` → `1s`, `1500` → `1500ms`: the suffix of a retry queue's name. */
function delayLabel(delayMs: number): string {
  return delayMs % 1000 === 0 ? `${delayMs / 1000}s` : `${delayMs}ms`;
}

/** The topology settings every service and tool reads from its environment (`AmqpEnv`). */
export interface TopologySettings {
  EXCHANGE_NAME: string;
  QUEUE_NAME: string;
  RETRY_DELAYS_MS: readonly number[];
  QUEUE_TYPE: QueueType;
}

/** The topology named by the settings, as the services and `pnpm dlq:replay` all use it. */
export function topologyFromSettings(settings: TopologySettings): Topology {
  return topologyFor({
    exchange: settings.EXCHANGE_NAME,
    queue: settings.QUEUE_NAME,
    retryDelaysMs: settings.RETRY_DELAYS_MS,
    queueType: settings.QUEUE_TYPE,
  });
}

/** The inverse of `topologyFromSettings`: the settings that name `topology`. */
export function settingsOfTopology(topology: Topology): Record<keyof TopologySettings, string> {
  return {
    EXCHANGE_NAME: topology.exchange,
    QUEUE_NAME: topology.queue,
    RETRY_DELAYS_MS: topology.retryQueues.map((q) => q.delayMs).join(','),
    QUEUE_TYPE: topology.queueType,
  };
}

export function topologyFor(options: TopologyOptions): Topology {
  return {
    exchange: options.exchange,
    queue: options.queue,
    routingKey: options.queue,
    deadLetterQueue: `${options.queue}_dlq`,
    retryQueues: options.retryDelaysMs.map((delayMs) => ({
      delayMs,
      name: `${options.queue}.retry.${delayLabel(delayMs)}`,
    })),
    queueType: options.queueType,
  };
}

/**
 * How often a quorum queue may hand out one message before the broker itself dead-letters it
 * (to the DLQ with reason `delivery_limit`) or, for the DLQ, drops it. RabbitMQ 4 sets 20 when
 * the argument is missing, and every redelivery counts: a consumer losing its connection, a
 * requeue, each look into the DLQ. The consumer decides an event's fate itself (retries, then
 * the DLQ with its own reason), so the broker's limit is set out of reach: at one redelivery a
 * second it takes over 30 years. (`-1`, "unlimited" on RabbitMQ 4, is read as "none allowed"
 * by 3.x.)
 */
export const QUORUM_DELIVERY_LIMIT = 1_000_000_000;

/**
 * Queue arguments every queue of the topology shares. For quorum queues, dead-lettering is made
 * at-least-once (RabbitMQ 3.10+), which requires `reject-publish` overflow: otherwise a message
 * expiring out of a retry queue could be dropped if the broker fails mid-way.
 */
function typeArguments(queueType: QueueType): Record<string, unknown> {
  // Queues declared without the argument are classic; leaving it out keeps them compatible.
  if (queueType === 'classic') return {};
  return {
    'x-queue-type': 'quorum',
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
    'x-delivery-limit': QUORUM_DELIVERY_LIMIT,
  };
}

/**
 * Declares the exchange and queues. Idempotent: both services call it at every (re)connect.
 * Dead-lettering uses the default exchange ("") so each hop names its target queue directly.
 */
export async function assertTopology(channel: Channel, topology: Topology): Promise<void> {
  const base = typeArguments(topology.queueType);
  const queue = (args: Record<string, unknown>): Options.AssertQueue => ({
    durable: true,
    arguments: { ...base, ...args },
  });

  const assertQueue = async (name: string, options: Options.AssertQueue) => {
    try {
      await channel.assertQueue(name, options);
    } catch (err) {
      throw asMismatch(err, name, topology.queueType) ?? err;
    }
  };

  await channel.assertExchange(topology.exchange, 'direct', { durable: true });
  // Nothing expires out of the DLQ, and it dead-letters nowhere.
  await assertQueue(topology.deadLetterQueue, {
    durable: true,
    arguments:
      topology.queueType === 'quorum'
        ? { 'x-queue-type': 'quorum', 'x-delivery-limit': QUORUM_DELIVERY_LIMIT }
        : {},
  });
  await assertQueue(
    topology.queue,
    queue({
      'x-message-ttl': MAIN_QUEUE_TTL_MS,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': topology.deadLetterQueue,
    }),
  );
  await channel.bindQueue(topology.queue, topology.exchange, topology.routingKey);
  for (const retry of topology.retryQueues) {
    await assertQueue(
      retry.name,
      queue({
        'x-message-ttl': retry.delayMs,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': topology.queue,
      }),
    );
  }
}

/**
 * The broker's `PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' …` as an
 * error that says what to do; `undefined` for any other failure.
 */
function asMismatch(
  err: unknown,
  queue: string,
  wanted: QueueType,
): TopologyMismatchError | undefined {
  const text = err instanceof Error ? err.message : '';
  const argument = /inequivalent arg '([^']+)'/.exec(text)?.[1];
  if (argument === undefined) return undefined;
  if (argument === 'x-queue-type') {
    const existing: QueueType = wanted === 'quorum' ? 'classic' : 'quorum';
    return new TopologyMismatchError(
      queue,
      `queue "${queue}" exists as a ${existing} queue but QUEUE_TYPE is ${wanted}; a queue's ` +
        `type cannot change in place. Set QUEUE_TYPE=${existing} to keep using it, or move to ` +
        `${wanted} queues under a new QUEUE_NAME and drain the old queue (docs/operations.md: ` +
        '"Changing the queue type")',
      { cause: err },
    );
  }
  return new TopologyMismatchError(
    queue,
    `queue "${queue}" exists with another ${argument} than this version declares; queue ` +
      'arguments cannot change in place. Use a new QUEUE_NAME and drain the old queue (' +
      'docs/operations.md: "Changing the queue type")',
    { cause: err },
  );
}
