import amqp, { type ChannelModel, type MessageProperties, type Options } from 'amqplib';
import type { OutgoingMessage } from './confirm-publisher.js';
import { rejectedQueueName } from './rejected-queue.js';
import type { Topology } from './topology.js';

export interface InspectedMessage {
  body: Buffer;
  properties: MessageProperties;
  headers: Record<string, unknown>;
}

export interface MoveOptions {
  from: string;
  to: string;
  /** Most messages to move. */
  limit: number;
  /** The properties to republish a message with, or `undefined` to leave it where it is. */
  select: (message: InspectedMessage) => OutgoingMessage['properties'] | undefined;
  /** Count what would move, move nothing. */
  dryRun: boolean;
  /** Called for each message once its copy is confirmed and the original acked. */
  onMoved?: (message: InspectedMessage) => void;
}

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

  private constructor(connection: ChannelModel) {
    this.#connection = connection;
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
  async peek(queue: string, limit: number): Promise<InspectedMessage[]> {
    const channel = await this.#connection.createChannel();
    try {
      const messages: InspectedMessage[] = [];
      while (messages.length < limit) {
        const message = await channel.get(queue, { noAck: false });
        if (message === false) break;
        messages.push({
          body: message.content,
          properties: message.properties,
          headers: message.properties.headers ?? {},
        });
      }
      return messages;
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** Messages ready in `queue` (not counting those delivered and unacknowledged). */
  async count(queue: string): Promise<number> {
    const channel = await this.#connection.createChannel();
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** Publishes bytes as they are, waiting for the broker's confirm. */
  async publishRaw(queue: string, body: Buffer, properties: Options.Publish = {}): Promise<void> {
    const channel = await this.#connection.createConfirmChannel();
    try {
      channel.sendToQueue(queue, body, { persistent: true, ...properties });
      await channel.waitForConfirms();
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /**
   * Moves selected messages from one queue to another. Each copy is confirmed by the broker
   * before its original is acked, so an interrupted move loses nothing (at worst a message is
   * in both queues). Only messages present at the start are looked at; those not moved stay
   * unacked until the end, so each is seen once, and return to their queue when it closes.
   */
  async moveMessages(options: MoveOptions): Promise<MoveResult> {
    const channel = await this.#connection.createConfirmChannel();
    const result: MoveResult = { moved: 0, matched: 0, skipped: 0 };
    try {
      // Only what is there now: a message moved out and dead-lettered again while we run
      // must not be picked up a second time (that would loop forever on a poison message).
      const present = (await channel.checkQueue(options.from)).messageCount;
      // A message sent to a missing queue is dropped and still confirmed; never ack the
      // original on that. (checkQueue throws, closing the channel, when it does not exist.)
      await channel.checkQueue(options.to);
      for (let seen = 0; seen < present && result.matched < options.limit; seen++) {
        const message = await channel.get(options.from, { noAck: false });
        if (message === false) break;
        const inspected: InspectedMessage = {
          body: message.content,
          properties: message.properties,
          headers: message.properties.headers ?? {},
        };
        const properties = options.select(inspected);
        if (properties === undefined) {
          result.skipped += 1;
          continue;
        }
        result.matched += 1;
        if (options.dryRun) continue;
        channel.sendToQueue(options.to, message.content, { ...properties, persistent: true });
        await channel.waitForConfirms();
        channel.ack(message);
        result.moved += 1;
        options.onMoved?.(inspected);
      }
      return result;
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /**
   * Deletes the exchange and every queue of `topology`, and its rejected queue if there is one
   * (tests clean up with it).
   */
  async deleteTopology(topology: Topology): Promise<void> {
    const channel = await this.#connection.createChannel();
    try {
      const queues = [
        topology.queue,
        topology.deadLetterQueue,
        ...topology.retryQueues.map((r) => r.name),
        rejectedQueueName(topology.queue),
      ];
      for (const queue of queues) await channel.deleteQueue(queue);
      await channel.deleteExchange(topology.exchange);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  /** Deletes one queue (and its messages); a missing queue is no error. */
  async deleteQueue(queue: string): Promise<void> {
    const channel = await this.#connection.createChannel();
    try {
      await channel.deleteQueue(queue);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    await this.#connection.close().catch(() => {});
  }
}
