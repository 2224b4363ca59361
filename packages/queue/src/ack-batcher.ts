import type { Channel, ConsumeMessage } from 'amqplib';

interface Outstanding {
  message: ConsumeMessage;
  acked: boolean;
}

/**
 * Coalesces the acks of one channel. Deliveries are tracked in arrival (delivery-tag) order;
 * once per turn of the event loop, the longest run of acked deliveries at the front is acked
 * with one `multiple` frame, and acks behind a still-unsettled delivery go out one by one, so
 * nothing waits on a slow neighbour. A stored batch of 500 then costs one frame, not 500.
 */
export class AckBatcher {
  readonly #channel: Channel;
  readonly #outstanding = new Map<number, Outstanding>();
  #scheduled = false;

  constructor(channel: Channel) {
    this.#channel = channel;
  }

  track(message: ConsumeMessage): void {
    this.#outstanding.set(message.fields.deliveryTag, { message, acked: false });
  }

  ack(message: ConsumeMessage): void {
    const entry = this.#outstanding.get(message.fields.deliveryTag);
    if (entry === undefined) return;
    entry.acked = true;
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  /** Nacks go out at once; the delivery leaves the tracked run. */
  nack(message: ConsumeMessage, requeue: boolean): void {
    if (!this.#outstanding.delete(message.fields.deliveryTag)) return;
    this.#channel.nack(message, false, requeue);
  }

  #flush(): void {
    this.#scheduled = false;
    let lastOfRun: ConsumeMessage | undefined;
    for (const [tag, entry] of this.#outstanding) {
      if (!entry.acked) break;
      lastOfRun = entry.message;
      this.#outstanding.delete(tag);
    }
    try {
      // Every delivery up to this tag on this channel is tracked here and acked: safe to
      // acknowledge them all with one frame.
      if (lastOfRun !== undefined) this.#channel.ack(lastOfRun, true);
      for (const [tag, entry] of this.#outstanding) {
        if (!entry.acked) continue;
        this.#channel.ack(entry.message);
        this.#outstanding.delete(tag);
      }
    } catch {
      // The channel closed: the broker redelivers whatever was not acked.
    }
  }
}
