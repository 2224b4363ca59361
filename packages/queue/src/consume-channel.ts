import type { Channel, ChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { AckBatcher } from './ack-batcher.js';
import { assertRejectedQueue, type RejectedQueue } from './rejected-queue.js';
import { assertTopology, type Topology } from './topology.js';

/** An open consume channel and what belongs to it. */
export interface ConsumeChannel {
  channel: Channel;
  /**
   * One per channel, shared by every subscription on it: a multiple-ack must see every delivery
   * of the channel, including those held across a cancel and a new subscription.
   */
  acks: AckBatcher;
  /** False once the channel has closed. */
  isOpen: () => boolean;
  /** Body bytes of its deliveries not settled yet, released all at once when it closes. */
  heldBytes: number;
}

export interface OpenConsumeChannelOptions {
  logger: Logger;
  /** Declared before the channel is handed out. */
  topology?: Topology | undefined;
  /** Declared before the channel is handed out (the quarantine's queue). */
  rejectedQueue?: RejectedQueue | undefined;
  /** Told once when the channel closes, for whatever reason. */
  onClose: (closed: ConsumeChannel) => void;
}

/** Opens a channel for consuming and declares what is consumed on it. */
export async function openConsumeChannel(
  connection: ChannelModel,
  options: OpenConsumeChannelOptions,
): Promise<ConsumeChannel> {
  const channel = await connection.createChannel();
  channel.on('error', (err: Error) => options.logger.warn({ err }, 'consume channel error'));
  let open = true;
  const current: ConsumeChannel = {
    channel,
    acks: new AckBatcher(channel),
    isOpen: () => open,
    heldBytes: 0,
  };
  channel.once('close', () => {
    open = false;
    options.onClose(current);
  });
  if (options.topology) await assertTopology(channel, options.topology);
  if (options.rejectedQueue) await assertRejectedQueue(channel, options.rejectedQueue);
  return current;
}
