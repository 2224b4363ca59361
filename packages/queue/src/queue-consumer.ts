import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { AckBatcher } from './ack-batcher.js';
import type { AmqpConnection } from './amqp-connection.js';
import { fromAmqpProperties, type MessageProperties } from './message-properties.js';
import { assertRejectedQueue, type RejectedQueue } from './rejected-queue.js';
import { assertTopology, type Topology } from './topology.js';

/** One message handed to the application; settle it exactly once with `ack` or `nack`. */
export interface Delivery {
  readonly body: Buffer;
  readonly properties: MessageProperties;
  readonly headers: Readonly<Record<string, unknown>>;
  readonly redelivered: boolean;
  /**
   * False once the channel it came on has closed: the broker will redeliver it, and settling it
   * is no longer possible (`ack`/`nack` then do nothing).
   */
  readonly settleable: boolean;
  ack(): void;
  nack(options: { requeue: boolean }): void;
}

export interface QueueConsumerOptions {
  connection: AmqpConnection;
  logger: Logger;
  queue: string;
  /** Unacknowledged deliveries the broker may hand us at once. */
  prefetch: number;
  /** Declared on every fresh channel before consuming. */
  topology?: Topology;
  /** Declared on every fresh channel before consuming (the quarantine's queue). */
  rejectedQueue?: RejectedQueue;
}

/** Receives every delivery; settles it later, exactly once. */
export type DeliveryHandler = (delivery: Delivery) => void;

/**
 * Consumes one queue with manual acks and bounded prefetch, across reconnections, once
 * `consume(handler)` names where deliveries go. `pause()` cancels the subscription (deliveries
 * already handed out stay valid) and `resume()` renews it.
 */
export class QueueConsumer {
  readonly #options: QueueConsumerOptions;
  #channel: Channel | undefined;
  #acks: AckBatcher | undefined;
  /** Whether the current channel is still open (one close listener per channel). */
  #isOpen: () => boolean = () => false;
  #subscribing: Promise<void> | undefined;
  #consumerTag: string | undefined;
  #handler: DeliveryHandler | undefined;
  #paused = false;
  #stopped = false;

  constructor(options: QueueConsumerOptions) {
    this.#options = options;
    options.connection.onConnected((connection) => this.#open(connection));
  }

  get consuming(): boolean {
    return this.#consumerTag !== undefined;
  }

  /** True while a channel is open (consuming or deliberately paused). */
  get ready(): boolean {
    return this.#channel !== undefined;
  }

  async #open(connection: ChannelModel): Promise<void> {
    const { logger, prefetch, topology, rejectedQueue } = this.#options;
    const channel = await connection.createChannel();
    channel.on('error', (err: Error) => logger.warn({ err }, 'consume channel error'));
    let open = true;
    channel.once('close', () => {
      open = false;
      if (this.#channel !== channel) return;
      this.#channel = undefined;
      this.#acks = undefined;
      this.#consumerTag = undefined;
      // A channel the broker closed on its own (e.g. consumer_timeout) is never reopened by
      // anything else: start the connection over.
      if (!this.#stopped) this.#options.connection.reconnect('consume channel closed');
    });
    if (topology) await assertTopology(channel, topology);
    if (rejectedQueue) await assertRejectedQueue(channel, rejectedQueue);
    await channel.prefetch(prefetch);
    const acks = new AckBatcher(channel);
    this.#isOpen = () => open;
    this.#channel = channel;
    this.#acks = acks;
    if (this.#handler && !this.#paused && !this.#stopped) await this.#consume(channel, acks);
  }

  /**
   * Starts handing deliveries to `handler`: now if a channel is open, else once one is. Call
   * once; the consumer is built first so that what handles deliveries can hold it (to pause it).
   */
  consume(handler: DeliveryHandler): void {
    if (this.#handler !== undefined) throw new Error('QueueConsumer.consume() called twice');
    this.#handler = handler;
    // A failure here is a channel that closed meanwhile: the next channel subscribes on open.
    this.resume().catch((err: unknown) =>
      this.#options.logger.warn({ err }, 'subscribing to the queue failed'),
    );
  }

  // One AckBatcher per channel, shared by every subscription on it: a multiple-ack must see
  // every delivery of the channel, including those held across a pause and resume.
  async #consume(channel: Channel, acks: AckBatcher): Promise<void> {
    // pause() during a basic.consume in flight must wait for its tag, or it would find none to
    // cancel and the consumer would keep receiving while "paused".
    const subscribing = this.#subscribe(channel, acks);
    this.#subscribing = subscribing;
    try {
      await subscribing;
    } finally {
      if (this.#subscribing === subscribing) this.#subscribing = undefined;
    }
  }

  async #subscribe(channel: Channel, acks: AckBatcher): Promise<void> {
    const isOpen = this.#isOpen;
    const handler = this.#handler;
    if (handler === undefined) return;
    const reply = await channel.consume(
      this.#options.queue,
      (message: ConsumeMessage | null) => {
        // null: the broker cancelled us (queue deleted); the channel stays open.
        if (message === null) {
          this.#options.logger.error(
            { queue: this.#options.queue },
            'consumer cancelled by broker',
          );
          this.#consumerTag = undefined;
          return;
        }
        acks.track(message);
        handler(toDelivery(acks, message, isOpen));
      },
      { noAck: false },
    );
    this.#consumerTag = reply.consumerTag;
  }

  /** Stops new deliveries; those already handed out can still be settled. */
  async pause(): Promise<void> {
    this.#paused = true;
    await this.#cancel();
  }

  async resume(): Promise<void> {
    this.#paused = false;
    const channel = this.#channel;
    const acks = this.#acks;
    if (
      channel !== undefined &&
      acks !== undefined &&
      this.#handler !== undefined &&
      this.#consumerTag === undefined &&
      this.#subscribing === undefined &&
      !this.#stopped
    ) {
      await this.#consume(channel, acks);
    }
  }

  /** Cancels for good; in-flight deliveries can still be settled until `close()`. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#cancel();
  }

  async #cancel(): Promise<void> {
    await this.#subscribing?.catch(() => {});
    const channel = this.#channel;
    const tag = this.#consumerTag;
    this.#consumerTag = undefined;
    if (channel !== undefined && tag !== undefined) await channel.cancel(tag).catch(() => {});
  }

  /** Closes the channel; unsettled deliveries return to the queue. Idempotent. */
  async close(): Promise<void> {
    this.#stopped = true;
    const channel = this.#channel;
    this.#channel = undefined;
    this.#consumerTag = undefined;
    await channel?.close().catch(() => {});
  }
}

function toDelivery(acks: AckBatcher, message: ConsumeMessage, isOpen: () => boolean): Delivery {
  let settled = false;
  const settle = (action: () => void) => {
    if (settled || !isOpen()) return;
    settled = true;
    try {
      action();
    } catch {
      // The channel closed under us; the broker redelivers the message.
    }
  };
  const properties = fromAmqpProperties(message.properties);
  return {
    body: message.content,
    properties,
    headers: properties.headers ?? {},
    redelivered: message.fields.redelivered,
    get settleable() {
      return !settled && isOpen();
    },
    ack: () => settle(() => acks.ack(message)),
    nack: ({ requeue }) => settle(() => acks.nack(message, requeue)),
  };
}
