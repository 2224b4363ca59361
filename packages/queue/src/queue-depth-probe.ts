import type { Channel, ChannelModel } from 'amqplib';
import type { AmqpConnection } from './amqp-connection.js';

export interface QueueDepthProbeOptions {
  /** Register the probe before `connection.start()`, so it sees the first connection. */
  connection: AmqpConnection;
  queue: string;
}

/**
 * Reads how many messages are ready in one queue with a passive declare (`checkQueue`) on a
 * channel of its own, kept open between reads: publishing and consuming channels never see
 * its errors (a missing queue closes only this channel, reopened at the next read).
 */
export class QueueDepthProbe {
  readonly #queue: string;
  #model: ChannelModel | undefined;
  #channel: Promise<Channel> | undefined;

  constructor(options: QueueDepthProbeOptions) {
    this.#queue = options.queue;
    options.connection.onConnected(async (model) => {
      this.#model = model;
      this.#channel = undefined;
      model.once('close', () => {
        if (this.#model === model) this.#model = undefined;
        this.#channel = undefined;
      });
    });
  }

  /** Messages ready (not counting delivered, unacknowledged ones); `undefined` when unknown. */
  async depth(): Promise<number | undefined> {
    const model = this.#model;
    if (model === undefined) return undefined;
    try {
      this.#channel ??= this.#open(model);
      const channel = await this.#channel;
      return (await channel.checkQueue(this.#queue)).messageCount;
    } catch {
      this.#channel = undefined;
      return undefined;
    }
  }

  async #open(model: ChannelModel): Promise<Channel> {
    const channel = await model.createChannel();
    // A failed check closes the channel with an error; that is reported by `depth()`.
    channel.on('error', () => {});
    channel.once('close', () => {
      this.#channel = undefined;
    });
    return channel;
  }
}
