import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { AmqpConnection } from './amqp-connection.js';
import { type ConsumeChannel, openConsumeChannel } from './consume-channel.js';
import { type DeliveryHandler, toDelivery } from './delivery.js';
import type { RejectedQueue } from './rejected-queue.js';
import type { Topology } from './topology.js';
import { UnackedBytesBudget } from './unacked-bytes-budget.js';

export interface QueueConsumerOptions {
  connection: AmqpConnection;
  logger: Logger;
  queue: string;
  /** Most unacknowledged deliveries the broker may hand us at once. */
  prefetch: number;
  /**
   * Most body bytes of deliveries held unsettled (received, not yet acked or nacked); unset, only
   * `prefetch` bounds them. The bound may be passed by one delivery, never by more: at least one
   * delivery is always allowed when nothing is held, however large. See `UnackedBytesBudget`.
   */
  maxUnackedBytes?: number | undefined;
  /** Told the body bytes held unsettled after every change (for a gauge). */
  onUnackedBytes?: ((bytes: number) => void) | undefined;
  /** Told of every delivery handed back to the broker unprocessed because the bound was reached. */
  onReturned?: (() => void) | undefined;
  /**
   * Told, after a delivery is handed out, when no more will come until some are settled: the
   * byte bound is reached or the subscription's prefetch is used up. What waits to fill a batch
   * need not wait longer.
   */
  onSaturated?: (() => void) | undefined;
  /** Declared on every fresh channel before consuming. */
  topology?: Topology;
  /** Declared on every fresh channel before consuming (the quarantine's queue). */
  rejectedQueue?: RejectedQueue;
}

/** One subscription's prefetch, and how many of its deliveries are taken and not settled. */
interface Subscription {
  window: number;
  taken: number;
}

/**
 * Consumes one queue with manual acks and bounded prefetch, across reconnections, once
 * `consume(handler)` names where deliveries go.
 *
 * The subscription runs only while nothing holds it back, and two things do so independently:
 * `pause()` until `resume()` (the database circuit) and, with `maxUnackedBytes`, the bytes held
 * reaching the bound until settling brings them back under it. Neither ends the other. Holding
 * back cancels the subscription; deliveries already handed out stay valid. Every change goes
 * through one loop (`#sync`), in order, so a pause during a subscribe in flight waits for its
 * tag and cancels it.
 */
export class QueueConsumer {
  readonly #options: QueueConsumerOptions;
  readonly #budget: UnackedBytesBudget;
  #current: ConsumeChannel | undefined;
  #consumerTag: string | undefined;
  /** The latest subscription made (the current one while `#consumerTag` is set). */
  #subscription: Subscription | undefined;
  #handler: DeliveryHandler | undefined;
  #paused = false;
  /** The broker cancelled us (queue deleted): no new subscription until resumed or reconnected. */
  #cancelledByBroker = false;
  #stopped = false;
  #syncing: Promise<void> | undefined;
  #syncAgain = false;

  constructor(options: QueueConsumerOptions) {
    this.#options = options;
    this.#budget = new UnackedBytesBudget({
      maxBytes: options.maxUnackedBytes ?? Number.POSITIVE_INFINITY,
      maxCount: options.prefetch,
    });
    options.connection.onConnected((connection) => this.#open(connection));
  }

  get consuming(): boolean {
    return this.#consumerTag !== undefined;
  }

  /** True while a channel is open (consuming or deliberately paused). */
  get ready(): boolean {
    return this.#current !== undefined;
  }

  /** Body bytes of the deliveries handed out and not settled yet. */
  get unackedBytes(): number {
    return this.#budget.heldBytes;
  }

  async #open(connection: ChannelModel): Promise<void> {
    const { logger, topology, rejectedQueue } = this.#options;
    const current = await openConsumeChannel(connection, {
      logger,
      topology,
      rejectedQueue,
      onClose: (closed) => this.#onChannelClosed(closed),
    });
    this.#current = current;
    this.#cancelledByBroker = false;
    await this.#sync();
  }

  #onChannelClosed(closed: ConsumeChannel): void {
    // Its unsettled deliveries go back to the queue: no longer ours to hold.
    const held = closed.heldBytes;
    closed.heldBytes = 0;
    this.#release(held);
    if (this.#current !== closed) return;
    this.#current = undefined;
    this.#consumerTag = undefined;
    this.#subscription = undefined;
    // A channel the broker closed on its own (e.g. consumer_timeout) is never reopened by
    // anything else: start the connection over.
    if (!this.#stopped) this.#options.connection.reconnect('consume channel closed');
  }

  /**
   * Starts handing deliveries to `handler`: now if a channel is open, else once one is. Call
   * once; the consumer is built first so that what handles deliveries can hold it (to pause it).
   */
  consume(handler: DeliveryHandler): void {
    if (this.#handler !== undefined) throw new Error('QueueConsumer.consume() called twice');
    this.#handler = handler;
    void this.#sync();
  }

  /** Stops new deliveries until `resume()`; those already handed out can still be settled. */
  async pause(): Promise<void> {
    this.#paused = true;
    await this.#sync();
  }

  /** Ends a `pause()`; a byte bound still reached keeps the subscription off until it is not. */
  async resume(): Promise<void> {
    this.#paused = false;
    this.#cancelledByBroker = false;
    await this.#sync();
  }

  /** Cancels for good; in-flight deliveries can still be settled until `close()`. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#sync();
  }

  /** Closes the channel; unsettled deliveries return to the queue. Idempotent. */
  async close(): Promise<void> {
    this.#stopped = true;
    const channel = this.#current?.channel;
    this.#current = undefined;
    this.#consumerTag = undefined;
    await channel?.close().catch(() => {});
  }

  /** The prefetch a subscription should have now; 0 for none. */
  #wantedWindow(): number {
    if (
      this.#handler === undefined ||
      this.#current === undefined ||
      this.#paused ||
      this.#stopped ||
      this.#cancelledByBroker
    ) {
      return 0;
    }
    return this.#budget.window();
  }

  /**
   * Whether the subscription must change: start, stop, or start over with a window at least
   * twice as large (the budget grew: sizes fell, or what was held beside it got settled). A
   * smaller window is never worth a restart: the bound itself stops the subscription.
   */
  #needsChange(): boolean {
    const wanted = this.#wantedWindow();
    if (this.#consumerTag === undefined) return wanted > 0;
    return wanted === 0 || wanted >= 2 * (this.#subscription?.window ?? 0);
  }

  /** Brings the subscription in line with `#needsChange()`; resolves once it is. Never rejects. */
  #sync(): Promise<void> {
    if (this.#syncing !== undefined) {
      this.#syncAgain = true;
      return this.#syncing;
    }
    if (!this.#needsChange()) return Promise.resolve();
    const syncing = this.#runSync().finally(() => {
      this.#syncing = undefined;
    });
    this.#syncing = syncing;
    return syncing;
  }

  async #runSync(): Promise<void> {
    do {
      this.#syncAgain = false;
      const current = this.#current;
      if (current === undefined) return;
      try {
        if (this.#consumerTag !== undefined) {
          if (this.#needsChange()) await this.#cancel(current.channel, this.#consumerTag);
        } else {
          const window = this.#wantedWindow();
          if (window > 0) await this.#subscribe(current, window);
        }
      } catch (err) {
        // On a channel that closed meanwhile, the next channel subscribes when it opens.
        if (this.#current === current) {
          this.#options.logger.warn({ err }, 'changing the queue subscription failed');
        }
      }
    } while (this.#syncAgain);
  }

  async #cancel(channel: Channel, tag: string): Promise<void> {
    this.#consumerTag = undefined;
    this.#subscription = undefined;
    // Deliveries the broker sent before it saw this arrive before its answer.
    await channel.cancel(tag);
    this.#syncAgain = true;
  }

  async #subscribe(current: ConsumeChannel, window: number): Promise<void> {
    // A prefetch applies to each subscription made after it, on its own.
    await current.channel.prefetch(window);
    // Deliveries may come before the answer below is read: the subscription exists first.
    const subscription: Subscription = { window, taken: 0 };
    this.#subscription = subscription;
    const { consumerTag } = await current.channel.consume(
      this.#options.queue,
      (message) => this.#onMessage(current, subscription, message),
      { noAck: false },
    );
    if (this.#current !== current) return;
    this.#consumerTag = consumerTag;
    this.#syncAgain = true;
  }

  #onMessage(
    current: ConsumeChannel,
    subscription: Subscription,
    message: ConsumeMessage | null,
  ): void {
    // null: the broker cancelled us (queue deleted); the channel stays open.
    if (message === null) {
      this.#options.logger.error({ queue: this.#options.queue }, 'consumer cancelled by broker');
      if (this.#subscription === subscription) {
        this.#consumerTag = undefined;
        this.#subscription = undefined;
        this.#cancelledByBroker = true;
      }
      return;
    }
    const { acks } = current;
    acks.track(message);
    if (!this.#budget.canTake()) {
      // Sent before the subscription could stop: handed back untouched, for the broker to
      // deliver again (to us once settling makes room, or to another consumer).
      acks.nack(message, true);
      this.#options.onReturned?.();
      void this.#sync();
      return;
    }
    const bytes = message.content.length;
    current.heldBytes += bytes;
    subscription.taken += 1;
    this.#budget.take(bytes);
    this.#options.onUnackedBytes?.(this.#budget.heldBytes);
    const onSettled = () => {
      current.heldBytes -= bytes;
      subscription.taken -= 1;
      this.#release(bytes);
    };
    this.#handler?.(toDelivery(acks, message, current.isOpen, onSettled));
    if (
      !this.#budget.canTake() ||
      this.#subscription !== subscription ||
      subscription.taken >= subscription.window
    ) {
      this.#options.onSaturated?.();
    }
    void this.#sync();
  }

  #release(bytes: number): void {
    if (bytes === 0) return;
    this.#budget.release(bytes);
    this.#options.onUnackedBytes?.(this.#budget.heldBytes);
    void this.#sync();
  }
}
