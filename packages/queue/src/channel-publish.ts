import type { ConfirmChannel } from 'amqplib';
import { type PublishProperties, toAmqpProperties } from './message-properties.js';
import { encodePublishFrames } from './publish-frames.js';

/** One persistent message to publish on a confirm channel. */
export interface ChannelMessage {
  exchange: string;
  routingKey: string;
  body: Buffer;
  properties: PublishProperties;
  mandatory: boolean;
}

/**
 * What `ConfirmChannel.publish` does: false when the channel's buffer is full (wait for
 * `drain`); throws when the channel is closing or closed; `onConfirm` is called with the
 * broker's ack (no argument) or nack (an error).
 */
export type PublishOnChannel = (
  message: ChannelMessage,
  onConfirm: (err: unknown) => void,
) => boolean;

/** The parts of amqplib's channel and connection that `publishOn` touches. */
interface ChannelInternals {
  ch?: unknown;
  sendMessage?: unknown;
  pushConfirmCallback?: unknown;
  connection?: {
    frameMax?: unknown;
    sentSinceLastCheck?: unknown;
    channels?: unknown;
  };
}

interface WriteBuffer {
  write(frames: Buffer): boolean;
}

/**
 * Publishes persistent messages on `channel`. A message `encodePublishFrames` takes (every event
 * the ingest API publishes) is encoded there and handed to the channel's outgoing buffer, its
 * confirm callback registered after it, as amqplib's own `ConfirmChannel.publish` does (amqplib
 * 2.x, `lib/channel_model.js`, `lib/channel.js`, `lib/connection.js`); everything else goes
 * through `channel.publish`. The frames are the same bytes either way; this path costs a few
 * microseconds instead of some fifty.
 *
 * Where amqplib's internals are not what this expects (a version that moved them), every message
 * goes through `channel.publish`. A channel that is closing or closed has had its `sendMessage`
 * replaced by amqplib with one that throws; such a channel's publishes go through
 * `channel.publish` too, which then throws as it always has.
 */
export function publishOn(channel: ConfirmChannel): PublishOnChannel {
  const viaAmqplib: PublishOnChannel = (message, onConfirm) =>
    channel.publish(
      message.exchange,
      message.routingKey,
      message.body,
      {
        ...toAmqpProperties(message.properties),
        persistent: true,
        mandatory: message.mandatory,
      },
      onConfirm,
    );

  const internals = channel as unknown as ChannelInternals;
  const { ch: number, sendMessage: openSendMessage, connection } = internals;
  const pushConfirmCallback = internals.pushConfirmCallback;
  const writeBufferOf = (): WriteBuffer | undefined => {
    const slots = connection?.channels;
    if (!Array.isArray(slots) || typeof number !== 'number') return undefined;
    const buffer = (slots[number] as { buffer?: Partial<WriteBuffer> } | null | undefined)?.buffer;
    return typeof buffer?.write === 'function' ? (buffer as WriteBuffer) : undefined;
  };
  if (
    typeof number !== 'number' ||
    typeof openSendMessage !== 'function' ||
    typeof pushConfirmCallback !== 'function' ||
    typeof connection?.frameMax !== 'number' ||
    typeof connection.sentSinceLastCheck !== 'boolean' ||
    writeBufferOf() === undefined
  ) {
    return viaAmqplib;
  }

  return (message, onConfirm) => {
    if (internals.sendMessage !== openSendMessage) return viaAmqplib(message, onConfirm);
    const frames = encodePublishFrames({
      channel: number,
      frameMax: connection.frameMax as number,
      exchange: message.exchange,
      routingKey: message.routingKey,
      mandatory: message.mandatory,
      properties: message.properties,
      deliveryMode: 2,
      body: message.body,
    });
    const buffer = writeBufferOf();
    if (frames === undefined || buffer === undefined) return viaAmqplib(message, onConfirm);
    // What amqplib's `sendMessage` does besides writing: no heartbeat is due while it sends.
    connection.sentSinceLastCheck = true;
    const writable = buffer.write(frames);
    pushConfirmCallback.call(channel, onConfirm);
    return writable;
  };
}
