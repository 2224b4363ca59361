import amqp, { type ChannelModel, type MessageProperties, type Options } from 'amqplib';
import type { Topology } from './topology.js';

export interface InspectedMessage {
  body: Buffer;
  properties: MessageProperties;
  headers: Record<string, unknown>;
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

  static async connect(url: string): Promise<QueueAdmin> {
    return new QueueAdmin(await amqp.connect(url));
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

  /** Deletes the exchange and every queue of `topology` (tests clean up with it). */
  async deleteTopology(topology: Topology): Promise<void> {
    const channel = await this.#connection.createChannel();
    try {
      const queues = [
        topology.queue,
        topology.deadLetterQueue,
        ...topology.retryQueues.map((r) => r.name),
      ];
      for (const queue of queues) await channel.deleteQueue(queue);
      await channel.deleteExchange(topology.exchange);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    await this.#connection.close().catch(() => {});
  }
}
