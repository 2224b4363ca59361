import amqp, {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type GetMessage,
} from 'amqplib';
import { QueueUnavailableError } from './errors.js';
import { assertEventsExchange } from './events-exchange.js';
import {
  fromAmqpProperties,
  type MessageProperties,
  type PublishProperties,
  toAmqpProperties,
} from './message-properties.js';
import { rejectedQueueName } from './rejected-queue.js';
import { assertTopology, type Topology } from './topology.js';

export interface InspectedMessage {
  body: Buffer;
  properties: MessageProperties;
  headers: Record<string, unknown>;
  /** The routing key it was published with. */
  routingKey?: string;
}

export interface MoveOptions {
  from: string;
  to: string;
  /** Most messages to move. */
  limit: number;
  /**
   * The properties to republish a message with, or `undefined` to leave it where it is (may
   * resolve later: the message waits unacked meanwhile).
   */
  select: (
    message: InspectedMessage,
  ) => PublishProperties | undefined | Promise<PublishProperties | undefined>;
  /** Count what would move, move nothing. */
  dryRun: boolean;
  /** Called for each message once its copy is confirmed and the original acked. */
  onMoved?: (message: InspectedMessage) => void;
  /**
   * Longest wait for the broker to confirm one copy; past it the move stops with what it moved
   * so far and the rest stays where it was. Default 10000 ms.
   */
  confirmTimeoutMs?: number;
}

/** Default of `MoveOptions.confirmTimeoutMs`. */
const MOVE_CONFIRM_TIMEOUT_MS = 10_000;
/** Longest wait for a channel or connection to close; a broker that stopped answering never does. */
const CHANNEL_CLOSE_TIMEOUT_MS = 2_000;

export interface MoveResult {
  moved: number;
  /** Selected (in a dry run: would have moved). */
  matched: number;
  /** Looked at and left in place because `select` declined them. */
  skipped: number;
}

/**
 * A plain, non-reconnecting connection for operators' tools and tests: look into queues,
 * count, publish raw bytes, tear a topology down. Not for the services' hot paths.
 */
export class QueueAdmin {
  readonly #connection: ChannelModel;
  #closed = false;

  private constructor(connection: ChannelModel) {
    this.#connection = connection;
    // A lost connection fails the operation in progress, which says so; the event adds nothing.
    connection.on('error', () => {});
    connection.once('close', () => {
      this.#closed = true;
    });
  }

  /**
   * Connects to `url`, or to the first node of a cluster's list that answers, starting at a
   * random one like the services do.
   */
  static async connect(url: string | readonly string[]): Promise<QueueAdmin> {
    const urls = typeof url === 'string' ? [url] : url;
    const start = Math.floor(Math.random() * urls.length);
    const failures: unknown[] = [];
    for (let i = 0; i < urls.length; i++) {
      const candidate = urls[(start + i) % urls.length] as string;
      try {
        return new QueueAdmin(await amqp.connect(candidate, { timeout: 5000 }));
      } catch (err) {
        failures.push(err);
      }
    }
    throw new AggregateError(failures, `no broker node answered (${urls.length} tried)`);
  }

  /** Fetches up to `limit` messages and returns them all to the queue when done. */
  peek(queue: string, limit: number): Promise<InspectedMessage[]> {
    return this.#withChannel(async (channel) => {
      const messages: InspectedMessage[] = [];
      while (messages.length < limit) {
        const message = await channel.get(queue, { noAck: false });
        if (message === false) break;
        messages.push(inspected(message));
      }
      return messages;
    });
  }

  /** Messages ready in `queue` (not counting those delivered and unacknowledged). */
  count(queue: string): Promise<number> {
    return this.#withChannel(async (channel) => (await channel.checkQueue(queue)).messageCount);
  }

  /** Publishes bytes as they are, waiting for the broker's confirm. */
  publishRaw(queue: string, body: Buffer, properties: PublishProperties = {}): Promise<void> {
    return this.#withConfirmChannel(async (channel) => {
      channel.sendToQueue(queue, body, { persistent: true, ...toAmqpProperties(properties) });
      await channel.waitForConfirms();
    });
  }

  /**
   * Moves selected messages from one queue to another. Each copy is confirmed by the broker,
   * and routed to the target (published `mandatory`, so a copy to a queue deleted meanwhile
   * comes back instead of being dropped), before its original is acked; so an interrupted move
   * loses nothing (at worst a message is in both queues). A copy not confirmed within
   * `confirmTimeoutMs` stops the move with a `QueueUnavailableError`. Only messages present at
   * the start are looked at; those not moved stay unacked until the end, so each is seen once,
   * and return to their queue when it closes.
   */
  moveMessages(options: MoveOptions): Promise<MoveResult> {
    return this.#withConfirmChannel(async (channel) => {
      const result: MoveResult = { moved: 0, matched: 0, skipped: 0 };
      const confirmTimeoutMs = options.confirmTimeoutMs ?? MOVE_CONFIRM_TIMEOUT_MS;
      // The broker returns an unroutable mandatory message before it confirms it.
      let returned = false;
      channel.on('return', () => {
        returned = true;
      });
      // Only what is there now: a message moved out and dead-lettered again while we run
      // must not be picked up a second time (that would loop forever on a poison message).
      const present = (await channel.checkQueue(options.from)).messageCount;
      // A message sent to a missing queue is dropped and still confirmed; never ack the
      // original on that. (checkQueue throws, closing the channel, when it does not exist.)
      await channel.checkQueue(options.to);
      for (let seen = 0; seen < present && result.matched < options.limit; seen++) {
        const got = await channel.get(options.from, { noAck: false });
        if (got === false) break;
        const message = inspected(got);
        const properties = await options.select(message);
        if (properties === undefined) {
          result.skipped += 1;
          continue;
        }
        result.matched += 1;
        if (options.dryRun) continue;
        channel.sendToQueue(options.to, got.content, {
          ...toAmqpProperties(properties),
          persistent: true,
          mandatory: true,
        });
        await confirmedWithin(channel, confirmTimeoutMs);
        if (returned) {
          throw new QueueUnavailableError(
            'unroutable',
            `queue ${options.to} no longer takes messages; the move stopped and the rest stays in ${options.from}`,
          );
        }
        channel.ack(got);
        result.moved += 1;
        options.onMoved?.(message);
      }
      return result;
    });
  }

  /** Declares the exchange and every queue of `topology`, as the services do when they connect. */
  declareTopology(topology: Topology): Promise<void> {
    return this.#withChannel((channel) => assertTopology(channel, topology));
  }

  /**
   * Deletes the exchange and every queue of `topology`, and its rejected queue if there is one
   * (tests clean up with it).
   */
  deleteTopology(topology: Topology): Promise<void> {
    return this.#withChannel(async (channel) => {
      const queues = [
        topology.queue,
        topology.deadLetterQueue,
        ...topology.retryQueues.map((r) => r.name),
        rejectedQueueName(topology.queue),
      ];
      for (const queue of queues) await channel.deleteQueue(queue);
      await channel.deleteExchange(topology.exchange);
    });
  }

  /**
   * Declares the events exchange (as the consumer does) and a durable queue of one's own bound
   * to it with `pattern` (e.g. `shop.#`). `queueArguments` are the queue's (e.g. a length cap).
   */
  bindToEventsExchange(options: {
    exchange: string;
    queue: string;
    pattern: string;
    queueArguments?: Record<string, unknown>;
  }): Promise<void> {
    return this.#withChannel(async (channel) => {
      await assertEventsExchange(channel, options.exchange);
      await channel.assertQueue(options.queue, {
        durable: true,
        arguments: options.queueArguments ?? {},
      });
      await channel.bindQueue(options.queue, options.exchange, options.pattern);
    });
  }

  /** Consumers subscribed to `queue` now. */
  consumerCount(queue: string): Promise<number> {
    return this.#withChannel(async (channel) => (await channel.checkQueue(queue)).consumerCount);
  }

  /** Deletes one exchange; a missing exchange is no error. */
  async deleteExchange(exchange: string): Promise<void> {
    await this.#withChannel((channel) => channel.deleteExchange(exchange));
  }

  /** Deletes one queue (and its messages); a missing queue is no error. */
  async deleteQueue(queue: string): Promise<void> {
    await this.#withChannel((channel) => channel.deleteQueue(queue));
  }

  /** Closes the connection; bounded, and a no-op once it is closed or lost. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await settledWithin(this.#connection.close(), CHANNEL_CLOSE_TIMEOUT_MS);
  }

  /** Runs `work` on a channel of its own, closed afterwards whatever happened. */
  async #withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    return closingAfter(await this.#connection.createChannel(), work);
  }

  /** Runs `work` on a confirm channel of its own, closed afterwards whatever happened. */
  async #withConfirmChannel<T>(work: (channel: ConfirmChannel) => Promise<T>): Promise<T> {
    return closingAfter(await this.#connection.createConfirmChannel(), work);
  }
}

async function closingAfter<C extends Channel, T>(
  channel: C,
  work: (channel: C) => Promise<T>,
): Promise<T> {
  // A channel the broker closes on an error (e.g. a missing queue) fails the operation in
  // progress, which says so; the event adds nothing.
  channel.on('error', () => {});
  let closed = false;
  channel.once('close', () => {
    closed = true;
  });
  try {
    return await work(channel);
  } finally {
    // One on a broker that stopped answering never closes: its unacked messages return to
    // their queue when the connection goes.
    if (!closed) await settledWithin(channel.close(), CHANNEL_CLOSE_TIMEOUT_MS);
  }
}

/** Waits for `promise` to settle, or `timeoutMs`, whichever comes first; never rejects. */
async function settledWithin(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
}

/** Waits for every publish of `channel` to be confirmed; rejects on a nack or after `timeoutMs`. */
async function confirmedWithin(channel: ConfirmChannel, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      channel.waitForConfirms(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new QueueUnavailableError(
                'timeout',
                `the broker did not confirm a moved message within ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function inspected(message: GetMessage): InspectedMessage {
  const properties = fromAmqpProperties(message.properties);
  return {
    body: message.content,
    properties,
    headers: properties.headers ?? {},
    routingKey: message.fields.routingKey,
  };
}
