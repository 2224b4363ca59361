import type { ChannelModel } from 'amqplib';
import { describe, expect, inject, it } from 'vitest';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { uniqueName } from '../../../test/helpers/test-names.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { AmqpConnection } from '../src/amqp-connection.js';
import { ConfirmPublisher } from '../src/confirm-publisher.js';
import { QueueAdmin } from '../src/queue-admin.js';

const MESSAGES = 200;

// Publishes made in one turn of the event loop reach the socket in a few writes rather than
// one each, and every one is still confirmed and in the queue.
describe('frames written to the broker', () => {
  it('publishes of one turn are coalesced into a few socket writes, each confirmed', async () => {
    const queue = uniqueName('test_coalesce');
    const connection = new AmqpConnection({
      url: inject('amqpUrl'),
      logger: testLogger(),
      connectionName: 'coalesce-test',
    });
    let model: ChannelModel | undefined;
    connection.onConnected(async (connected) => {
      model = connected;
      const channel = await connected.createChannel();
      await channel.assertQueue(queue, { durable: true });
      await channel.close();
    });
    const publisher = new ConfirmPublisher({
      connection,
      logger: testLogger(),
      timeoutMs: 10_000,
      maxInFlight: MESSAGES,
    });
    const admin = await QueueAdmin.connect(inject('amqpUrl'));
    connection.start();
    try {
      await connection.waitUntilConnected(10_000);
      await waitFor('the confirm channel', async () => publisher.ready, { timeoutMs: 10_000 });
      // Every system call amqplib's socket makes to send, one or many frames each.
      const socket = (model as unknown as { connection: { stream: Record<string, unknown> } })
        .connection.stream;
      let writes = 0;
      for (const method of ['_write', '_writev']) {
        const original = socket[method] as ((...args: unknown[]) => unknown) | undefined;
        if (typeof original !== 'function') continue;
        socket[method] = function counted(this: unknown, ...args: unknown[]) {
          writes += 1;
          return original.apply(this, args);
        };
      }
      await Promise.all(
        Array.from({ length: MESSAGES }, (_, i) =>
          publisher.publish({
            exchange: '',
            routingKey: queue,
            body: Buffer.from(`message ${i}`),
            properties: { messageId: `m-${i}` },
          }),
        ),
      );
      expect(writes).toBeGreaterThan(0);
      expect(writes).toBeLessThan(MESSAGES / 10);
      expect(await admin.count(queue)).toBe(MESSAGES);
    } finally {
      await publisher.close();
      await connection.close();
      await admin.deleteQueue(queue).catch(() => {});
      await admin.close();
    }
  });
});
