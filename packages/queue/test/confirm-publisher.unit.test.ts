import { EventEmitter } from 'node:events';
import type { ChannelModel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { AmqpConnection } from '../src/amqp-connection.js';
import { ConfirmPublisher, type ConfirmPublisherOptions } from '../src/confirm-publisher.js';
import { QueueUnavailableError } from '../src/errors.js';

/** A confirm channel whose buffer is full: `publish` says "wait for drain", and never confirms. */
class FullChannel extends EventEmitter {
  readonly published: string[] = [];
  publish(_exchange: string, _key: string, body: Buffer): boolean {
    this.published.push(body.toString());
    return false;
  }
  async close(): Promise<void> {}
}

/**
 * A publisher on a fake connection that is already up; every confirm channel it opens comes
 * from `createChannel`.
 */
async function connectedPublisher(
  createChannel: () => EventEmitter,
  options: Pick<ConfirmPublisherOptions, 'timeoutMs' | 'maxInFlight' | 'refusingChannelMs'>,
): Promise<ConfirmPublisher> {
  let onConnected: ((connection: ChannelModel) => Promise<void>) | undefined;
  const connection = {
    onConnected: (listener: (connection: ChannelModel) => Promise<void>) => {
      onConnected = listener;
    },
    reconnect: () => {},
  } as unknown as AmqpConnection;
  const publisher = new ConfirmPublisher({ connection, logger: testLogger(), ...options });
  await onConnected?.({
    createConfirmChannel: async () => createChannel(),
  } as unknown as ChannelModel);
  return publisher;
}

async function publisherOnFullChannel(timeoutMs: number) {
  const channel = new FullChannel();
  const publisher = await connectedPublisher(() => channel, { timeoutMs, maxInFlight: 10 });
  return { publisher, channel };
}

const message = (body: string) => ({
  exchange: 'x',
  routingKey: 'q',
  body: Buffer.from(body),
  properties: { messageId: body },
});

describe('ConfirmPublisher when the broker stops reading', () => {
  it('a publish waiting for drain fails after timeoutMs, is never sent afterwards, and raises no unhandled rejection', async () => {
    const { publisher, channel } = await publisherOnFullChannel(100);
    const first = publisher.publish(message('first'));
    const second = publisher.publish(message('second'));

    const started = Date.now();
    await Promise.all([
      expect(first).rejects.toMatchObject({ reason: 'timeout' }),
      expect(second).rejects.toBeInstanceOf(QueueUnavailableError),
    ]);
    // timeoutMs is 100; the bound only catches a publish that waits for something else.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(channel.published).toEqual(['first']);

    // The broker reads again: the timed-out message must not go out after its 503.
    channel.emit('drain');
    await new Promise((resolve) => setImmediate(resolve));
    expect(channel.published).toEqual(['first']);
    await publisher.close(10);
  });
});

/**
 * A confirm channel that acks the messages whose body starts with `ok`, nacks those starting
 * with `nack`, and never confirms the rest.
 */
class SelectiveChannel extends EventEmitter {
  readonly published: string[] = [];
  closed = false;
  publish(
    _exchange: string,
    _key: string,
    body: Buffer,
    _options: unknown,
    callback: (err: unknown) => void,
  ): boolean {
    this.published.push(body.toString());
    if (body.toString().startsWith('ok')) setImmediate(() => callback(null));
    if (body.toString().startsWith('nack')) setImmediate(() => callback(new Error('nacked')));
    return true;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

async function publisherOnSelectiveChannels(timeoutMs: number, refusingChannelMs?: number) {
  const channels: SelectiveChannel[] = [];
  const publisher = await connectedPublisher(
    () => {
      const channel = new SelectiveChannel();
      channels.push(channel);
      return channel;
    },
    {
      timeoutMs,
      maxInFlight: 100,
      ...(refusingChannelMs === undefined ? {} : { refusingChannelMs }),
    },
  );
  return { publisher, channels };
}

describe('ConfirmPublisher when confirms stop coming', () => {
  it('after a whole timeout without any confirm, new publishes go to a new channel; the old one closes later', async () => {
    const { publisher, channels } = await publisherOnSelectiveChannels(100);
    await Promise.all([
      expect(publisher.publish(message('stuck-1'))).rejects.toMatchObject({ reason: 'timeout' }),
      expect(publisher.publish(message('stuck-2'))).rejects.toMatchObject({ reason: 'timeout' }),
    ]);
    await waitFor('a second channel', () => channels.length === 2 && publisher.ready);
    await publisher.publish(message('ok-after'));
    expect(channels[1]?.published).toEqual(['ok-after']);
    // Kept open a while for confirms still on their way, then closed; only one replacement.
    expect(channels[0]?.closed).toBe(false);
    await waitFor('the old channel to close', () => channels[0]?.closed === true);
    expect(channels).toHaveLength(2);
    await publisher.close(10);
  });

  it('a slow channel that still confirms other messages is kept', async () => {
    const { publisher, channels } = await publisherOnSelectiveChannels(200);
    const stuck = publisher.publish(message('stuck'));
    stuck.catch(() => {});
    // Confirms keep arriving while the one message waits out its timeout.
    const started = Date.now();
    while (Date.now() - started < 300) {
      await publisher.publish(message(`ok-${Date.now()}`));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await expect(stuck).rejects.toMatchObject({ reason: 'timeout' });
    expect(channels).toHaveLength(1);
    await publisher.close(10);
  });
});

describe('ConfirmPublisher when a channel only refuses', () => {
  it('after refusingChannelMs of nacks and no ack, new publishes go to a new channel', async () => {
    const { publisher, channels } = await publisherOnSelectiveChannels(5000, 100);
    await expect(publisher.publish(message('nack-1'))).rejects.toMatchObject({ reason: 'nack' });
    // Still within the window: the channel is kept.
    expect(channels).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await expect(publisher.publish(message('nack-2'))).rejects.toMatchObject({ reason: 'nack' });
    await waitFor('a second channel', () => channels.length === 2 && publisher.ready);
    await publisher.publish(message('ok-after'));
    expect(channels[1]?.published).toEqual(['ok-after']);
    // A nack for the old channel's late messages does not replace the new one.
    expect(channels).toHaveLength(2);
    await publisher.close(10);
  });

  it('a channel that nacks some messages but acks others is kept', async () => {
    const { publisher, channels } = await publisherOnSelectiveChannels(5000, 100);
    const started = Date.now();
    while (Date.now() - started < 300) {
      await publisher.publish(message(`ok-${Date.now()}`));
      await expect(publisher.publish(message('nack'))).rejects.toMatchObject({ reason: 'nack' });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(channels).toHaveLength(1);
    await publisher.close(10);
  });
});
