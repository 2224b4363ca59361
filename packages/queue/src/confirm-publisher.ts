import { randomUUID } from 'node:crypto';
import type { ChannelModel, ConfirmChannel, Message } from 'amqplib';
import type { Logger } from 'pino';
import type { AmqpConnection } from './amqp-connection.js';
import { type PublishOnChannel, publishOn } from './channel-publish.js';
import { QueueUnavailableError } from './errors.js';
import { assertEventsExchange } from './events-exchange.js';
import type { PublishProperties } from './message-properties.js';
import { assertRejectedQueue, type RejectedQueue } from './rejected-queue.js';
import { assertTopology, type Topology } from './topology.js';

export interface ConfirmPublisherOptions {
  connection: AmqpConnection;
  logger: Logger;
  /** Longest wait for the broker's ack before `publish()` rejects. */
  timeoutMs: number;
  /** Messages awaiting a confirm at once; past it `publish()` rejects at once (load shedding). */
  maxInFlight: number;
  /** Declared on every fresh channel before it is used. */
  topology?: Topology;
  /** Declared on every fresh channel before it is used (the quarantine's queue). */
  rejectedQueue?: RejectedQueue;
  /** The events exchange (topic), declared on every fresh channel before it is used. Default none. */
  eventsExchange?: string;
  /**
   * A channel whose confirms have all been nacks for this long (none acked) is replaced.
   * Default 1000 ms.
   */
  refusingChannelMs?: number;
}

export interface OutgoingMessage {
  /** `""` is the default exchange, which routes by queue name. */
  exchange: string;
  routingKey: string;
  body: Buffer;
  /** Persistence is always set; these are the rest. */
  properties: PublishProperties;
  /**
   * Default true: a message no queue takes comes back and `publish()` rejects (`unroutable`).
   * False where no queue being bound is normal (the events exchange): it is then confirmed.
   */
  mandatory?: boolean;
}

interface Pending {
  settle: (error?: QueueUnavailableError) => void;
  messageId: string | undefined;
}

/**
 * Publishes on a confirm channel. `publish()` resolves only once the broker has acked the
 * message, i.e. taken responsibility for it (for persistent messages on durable queues: written
 * to disk or replicated). It rejects with `QueueUnavailableError` on a nack, on a return
 * (no queue bound, for a `mandatory` message), when the channel or connection is lost, after
 * `timeoutMs`, and at once when not connected or already `maxInFlight` messages wait for a
 * confirm.
 */
export class ConfirmPublisher {
  readonly #options: ConfirmPublisherOptions;
  #channel: ConfirmChannel | undefined;
  /** Publishes on `#channel`; replaced with it. */
  #publishOnChannel: PublishOnChannel | undefined;
  #writable = true;
  readonly #drainWaiters: Array<() => void> = [];
  readonly #inFlight = new Set<Pending>();
  readonly #returned = new Set<string>();
  readonly #idleWaiters: Array<() => void> = [];
  #closing = false;
  #closed: Promise<void> | undefined;
  /** The connection the current channel is on. */
  #connectionModel: ChannelModel | undefined;
  /** The channel already being replaced (at most once per channel). */
  #replaced: ConfirmChannel | undefined;
  /**
   * Counts the current channel's openings and every confirm (ack or nack): a message that timed
   * out finds it unchanged when nothing was confirmed on the channel while it waited. A count,
   * not a time: a timer may fire a millisecond before the wall clock says its delay has passed.
   */
  #confirmEvents = 0;
  /** When the current channel was opened or last acked a message. */
  #lastAckAtMs = 0;

  constructor(options: ConfirmPublisherOptions) {
    this.#options = options;
    options.connection.onConnected((connection) => this.#open(connection));
  }

  /** True while a confirm channel is open. */
  get ready(): boolean {
    return this.#channel !== undefined && !this.#closing;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  async #open(connection: ChannelModel): Promise<void> {
    this.#connectionModel = connection;
    const channel = await connection.createConfirmChannel();
    channel.on('error', (err: Error) =>
      this.#options.logger.warn({ err }, 'publish channel error'),
    );
    channel.on('drain', () => this.#onDrain());
    channel.on('return', (message: Message) => {
      const id = message.properties.messageId;
      if (typeof id === 'string') this.#returned.add(id);
    });
    channel.once('close', () => {
      if (this.#channel !== channel) return;
      this.#channel = undefined;
      this.#writable = true;
      this.#onDrain();
      this.#failAll(new QueueUnavailableError('channel_closed', 'publish channel closed'));
      // The broker may close a channel and keep the connection (e.g. a deleted exchange):
      // start over, or every publish would be refused until a restart.
      if (!this.#closing) this.#options.connection.reconnect('publish channel closed');
    });
    if (this.#options.topology) await assertTopology(channel, this.#options.topology);
    if (this.#options.rejectedQueue) {
      await assertRejectedQueue(channel, this.#options.rejectedQueue);
    }
    if (this.#options.eventsExchange) {
      await assertEventsExchange(channel, this.#options.eventsExchange);
    }
    this.#channel = channel;
    this.#publishOnChannel = publishOn(channel);
    this.#confirmEvents += 1;
    this.#lastAckAtMs = Date.now();
  }

  async publish(original: OutgoingMessage): Promise<void> {
    // A returned (unroutable) message is recognised by its message id; one without an id
    // (published by hand, then retried or dead-lettered) gets one, or its return would be
    // mistaken for success.
    const message =
      original.properties.messageId === undefined
        ? { ...original, properties: { ...original.properties, messageId: randomUUID() } }
        : original;
    if (this.#closing) throw new QueueUnavailableError('closing', 'publisher is closing');
    if (this.#inFlight.size >= this.#options.maxInFlight) {
      throw new QueueUnavailableError('overloaded', 'too many publishes awaiting a confirm');
    }
    if (this.#channel === undefined) {
      throw new QueueUnavailableError('not_connected', 'not connected to the broker');
    }

    let resolve!: () => void;
    let reject!: (error: QueueUnavailableError) => void;
    const confirmed = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const confirmEventsAtSend = this.#confirmEvents;
    const timer = setTimeout(() => {
      entry.settle(new QueueUnavailableError('timeout', 'no confirm from the broker in time'));
      this.#onConfirmTimeout(confirmEventsAtSend);
    }, this.#options.timeoutMs);
    const entry: Pending = {
      messageId: message.properties.messageId,
      settle: (error) => {
        if (!this.#inFlight.delete(entry)) return;
        clearTimeout(timer);
        if (this.#inFlight.size === 0) for (const idle of this.#idleWaiters.splice(0)) idle();
        if (error) reject(error);
        else resolve();
      },
    };
    this.#inFlight.add(entry);

    // Sent detached, so the caller holds `confirmed` from the start: a timeout while waiting
    // for `drain` rejects a promise someone awaits (never an unhandled rejection), and the
    // caller's wait stays bounded by `timeoutMs`.
    void this.#send(entry, message);
    return confirmed;
  }

  async #send(entry: Pending, message: OutgoingMessage): Promise<void> {
    // The broker's buffer is full: wait for `drain`.
    if (!this.#writable) await this.#waitForDrain();
    // Timed out (and answered) meanwhile: sending it now would store an event the client
    // was told was not accepted.
    if (!this.#inFlight.has(entry)) return;
    const channel = this.#channel;
    const publish = this.#publishOnChannel;
    if (channel === undefined || publish === undefined) {
      entry.settle(new QueueUnavailableError('not_connected', 'not connected to the broker'));
      return;
    }
    try {
      const writable = publish(
        {
          exchange: message.exchange,
          routingKey: message.routingKey,
          body: message.body,
          properties: message.properties,
          mandatory: message.mandatory ?? true,
        },
        (err: unknown) => this.#onConfirm(entry, err, channel),
      );
      if (!writable) this.#writable = false;
    } catch (err) {
      // amqplib throws synchronously when the channel closed between our check and the call.
      entry.settle(
        new QueueUnavailableError('channel_closed', 'publish channel closed', { cause: err }),
      );
    }
  }

  /**
   * No confirm at all for a whole `timeoutMs` may mean the channel is stuck rather than slow:
   * when a quorum queue's leader node is lost, RabbitMQ 3.x hands a channel's pending messages
   * to the new leader only some 10 s later (measured with 3.10) and refuses nothing meanwhile.
   */
  #onConfirmTimeout(confirmEventsAtSend: number): void {
    if (this.#confirmEvents !== confirmEventsAtSend) return;
    this.#replaceChannel('no publish confirm for a whole timeout');
  }

  /**
   * Nacks and nothing else for a while may mean the channel, not the broker, is refusing: a
   * channel opened on a surviving node while a quorum queue was electing its new leader was
   * seen (RabbitMQ 3.10, leader's node killed) to have every publish nacked for as long as it
   * lived, 40 s and more, while a fresh channel was accepted at once.
   */
  #onNack(): void {
    const refusingMs = this.#options.refusingChannelMs ?? 1000;
    if (Date.now() - this.#lastAckAtMs < refusingMs) return;
    this.#replaceChannel('only nacks on the publish channel');
  }

  /**
   * New publishes go to a fresh channel, which finds the queue's current state. The old channel
   * is not closed at once: a broker that is merely slow still confirms what it has, and failing
   * those publishes early would only add 503s. It closes after another `timeoutMs`, when
   * everything sent on it has been confirmed or has timed out. At most once per channel.
   */
  #replaceChannel(why: string): void {
    const old = this.#channel;
    const connection = this.#connectionModel;
    if (old === undefined || connection === undefined || this.#closing) return;
    if (this.#replaced === old) return;
    this.#replaced = old;
    this.#options.logger.warn(`${why}; opening a new channel`);
    this.#open(connection).then(
      () => {
        setTimeout(() => void old.close().catch(() => {}), this.#options.timeoutMs).unref();
      },
      (err: unknown) => {
        this.#options.logger.warn({ err }, 'could not open a new publish channel');
        this.#options.connection.reconnect('no new publish channel after it got stuck');
      },
    );
  }

  #onConfirm(entry: Pending, err: unknown, channel: ConfirmChannel): void {
    this.#confirmEvents += 1;
    const returned = entry.messageId !== undefined && this.#returned.delete(entry.messageId);
    if (err) {
      const channelClosed = err instanceof Error && err.message === 'channel closed';
      entry.settle(
        channelClosed
          ? new QueueUnavailableError('channel_closed', 'publish channel closed', { cause: err })
          : new QueueUnavailableError('nack', 'the broker refused the message', { cause: err }),
      );
      if (!channelClosed && channel === this.#channel) this.#onNack();
    } else if (returned) {
      // A mandatory message that reached no queue is acked too; it must not count as stored.
      entry.settle(new QueueUnavailableError('unroutable', 'no queue is bound for the message'));
    } else {
      this.#lastAckAtMs = Date.now();
      entry.settle();
    }
  }

  #waitForDrain(): Promise<void> {
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #onDrain(): void {
    this.#writable = true;
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  #failAll(error: QueueUnavailableError): void {
    for (const pending of [...this.#inFlight]) pending.settle(error);
  }

  /**
   * Refuses new publishes, waits (up to `timeoutMs`) for confirms of those in flight, fails the
   * rest, and closes the channel. Idempotent.
   */
  close(timeoutMs = 5000): Promise<void> {
    this.#closed ??= this.#close(timeoutMs);
    return this.#closed;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    if (this.#inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#idleWaiters.push(resolve);
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    this.#failAll(new QueueUnavailableError('closing', 'publisher closed before the confirm'));
    const channel = this.#channel;
    this.#channel = undefined;
    await channel?.close().catch(() => {});
  }
}
