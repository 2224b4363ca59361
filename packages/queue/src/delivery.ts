import type { ConsumeMessage } from 'amqplib';
import type { AckBatcher } from './ack-batcher.js';
import { fromAmqpProperties, type MessageProperties } from './message-properties.js';

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

/** Receives every delivery; settles it later, exactly once. */
export type DeliveryHandler = (delivery: Delivery) => void;

/** `onSettled` runs once the delivery is acked or nacked (not when its channel closes first). */
export function toDelivery(
  acks: AckBatcher,
  message: ConsumeMessage,
  isOpen: () => boolean,
  onSettled: () => void,
): Delivery {
  let settled = false;
  const settle = (action: () => void) => {
    if (settled || !isOpen()) return;
    settled = true;
    try {
      action();
    } catch {
      // The channel closed under us; the broker redelivers the message.
    }
    onSettled();
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
