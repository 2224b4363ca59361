import amqplib, { type ChannelModel, type ConfirmChannel, type Message } from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName } from '../../../test/helpers/test-names.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { type ChannelMessage, publishOn } from '../src/channel-publish.js';
import { toAmqpProperties } from '../src/message-properties.js';

// Messages published with the project's own frames reach the broker and come back exactly as
// those amqplib publishes itself: same properties, headers and body.
describe('publishOn', () => {
  let model: ChannelModel;
  let channel: ConfirmChannel;
  const queue = uniqueName('test_channel_publish');
  let viaAmqplib = 0;

  beforeAll(async () => {
    model = await amqplib.connect(inject('amqpUrl'));
    channel = await model.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    const original = channel.publish.bind(channel);
    channel.publish = (...args: Parameters<ConfirmChannel['publish']>) => {
      viaAmqplib += 1;
      return original(...args);
    };
  });
  afterAll(async () => {
    await channel.deleteQueue(queue).catch(() => {});
    await model.close().catch(() => {});
  });

  const confirmed = (publish: (onConfirm: (err: unknown) => void) => boolean) =>
    new Promise<void>((resolve, reject) => {
      publish((err) => (err ? reject(err) : resolve()));
    });

  const next = async (): Promise<Message> => {
    let message: Message | false = false;
    await waitFor(
      'a message in the queue',
      async () => {
        message = await channel.get(queue, { noAck: true });
        return message !== false;
      },
      { timeoutMs: 10_000 },
    );
    return message as unknown as Message;
  };

  /** What a consumer sees of a message, without what the broker sets per delivery. */
  const asSeen = (message: Message) => ({
    exchange: message.fields.exchange,
    routingKey: message.fields.routingKey,
    properties: message.properties,
    body: message.content.toString('utf8'),
  });

  const event: ChannelMessage = {
    exchange: '',
    routingKey: queue,
    mandatory: true,
    body: Buffer.from(JSON.stringify({ id: 'evt_1', source: 'shop', data: { total: 8997 } })),
    properties: {
      messageId: 'evt_1',
      contentType: 'application/json',
      timestamp: 1_764_720_000,
      appId: 'ingest-api',
      headers: { 'x-request-id': 'req-ü-1', 'x-attempt': 1, 'x-big': 70_000, 'x-flag': true },
    },
  };

  it('publishes an event with its own frames: the broker confirms it and it arrives as amqplib would send it', async () => {
    const publish = publishOn(channel);
    viaAmqplib = 0;
    await confirmed((onConfirm) => publish(event, onConfirm));
    expect(viaAmqplib).toBe(0);
    const ours = asSeen(await next());

    await confirmed((onConfirm) =>
      channel.publish(
        event.exchange,
        event.routingKey,
        event.body,
        { ...toAmqpProperties(event.properties), persistent: true, mandatory: true },
        onConfirm,
      ),
    );
    expect(viaAmqplib).toBe(1);
    const amqplibs = asSeen(await next());

    expect(ours).toEqual(amqplibs);
    expect(ours.properties.deliveryMode).toBe(2);
    expect(ours.properties.headers).toEqual(event.properties.headers);
  });

  it('many publishes in a row are each confirmed, in order, and stored', async () => {
    const publish = publishOn(channel);
    viaAmqplib = 0;
    const count = 300;
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        confirmed((onConfirm) =>
          publish(
            { ...event, body: Buffer.from(`message ${i}`), properties: { messageId: `m-${i}` } },
            onConfirm,
          ),
        ),
      ),
    );
    expect(viaAmqplib).toBe(0);
    for (let i = 0; i < count; i += 1) {
      const message = await next();
      expect(message.properties.messageId).toBe(`m-${i}`);
      expect(message.content.toString()).toBe(`message ${i}`);
    }
  });

  it('leaves to amqplib a message its frames do not take, which arrives all the same', async () => {
    const publish = publishOn(channel);
    viaAmqplib = 0;
    const headers = { 'x-death': [{ count: 2, queue: 'webhooks' }] };
    await confirmed((onConfirm) =>
      publish({ ...event, properties: { messageId: 'nested', headers } }, onConfirm),
    );
    expect(viaAmqplib).toBe(1);
    const message = await next();
    expect(message.properties.messageId).toBe('nested');
    expect(message.properties.headers).toMatchObject({
      'x-death': [{ count: 2, queue: 'webhooks' }],
    });
  });

  it('a mandatory message no queue takes comes back from the broker', async () => {
    const publish = publishOn(channel);
    viaAmqplib = 0;
    const returned = new Promise<Message>((resolve) => channel.once('return', resolve));
    await confirmed((onConfirm) =>
      publish({ ...event, routingKey: uniqueName('no_such_queue') }, onConfirm),
    );
    expect(viaAmqplib).toBe(0);
    expect((await returned).properties.messageId).toBe('evt_1');
  });

  it("the callback is the broker's answer: a message a full queue refuses is nacked", async () => {
    const full = uniqueName('test_channel_publish_full');
    await channel.assertQueue(full, {
      durable: true,
      arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
    });
    try {
      const publish = publishOn(channel);
      viaAmqplib = 0;
      await expect(
        confirmed((onConfirm) => publish({ ...event, routingKey: full }, onConfirm)),
      ).rejects.toThrow(/nack/i);
      expect(viaAmqplib).toBe(0);
      // The channel goes on: the next message is acked.
      await confirmed((onConfirm) => publish(event, onConfirm));
      expect((await next()).properties.messageId).toBe('evt_1');
    } finally {
      await channel.deleteQueue(full);
    }
  });

  it('throws on a closed channel, as amqplib does', async () => {
    const closing = await model.createConfirmChannel();
    const publish = publishOn(closing);
    await closing.close();
    expect(() => publish(event, () => {})).toThrow(/closed/i);
  });

  it('throws on a channel that is closing, whose frames would follow its close', async () => {
    const closing = await model.createConfirmChannel();
    const publish = publishOn(closing);
    // amqplib sends the close at once and awaits the broker's answer; the channel's outgoing
    // buffer is still there meanwhile.
    const closed = closing.close();
    expect(() => publish(event, () => {})).toThrow(/closing/i);
    await closed;
  });
});
