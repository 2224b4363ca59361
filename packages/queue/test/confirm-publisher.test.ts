import { describe, expect, inject, it } from 'vitest';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { uniqueName } from '../../../test/helpers/test-names.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { AmqpConnection } from '../src/amqp-connection.js';
import { ConfirmPublisher } from '../src/confirm-publisher.js';
import { QueueAdmin } from '../src/queue-admin.js';

describe('ConfirmPublisher against a real broker', () => {
  it('a message no queue takes is refused as unroutable, with or without a message id', async () => {
    const connection = new AmqpConnection({
      url: inject('amqpUrl'),
      logger: testLogger(),
      connectionName: 'unroutable-test',
    });
    const publisher = new ConfirmPublisher({
      connection,
      logger: testLogger(),
      timeoutMs: 5000,
      maxInFlight: 10,
    });
    connection.start();
    await connection.waitUntilConnected(10_000);
    try {
      const nowhere = {
        exchange: '',
        routingKey: `no_such_queue_${Date.now()}`,
        body: Buffer.from('x'),
      };
      await expect(
        publisher.publish({ ...nowhere, properties: { messageId: 'has-id' } }),
      ).rejects.toMatchObject({
        reason: 'unroutable',
      });
      await expect(publisher.publish({ ...nowhere, properties: {} })).rejects.toMatchObject({
        reason: 'unroutable',
      });
    } finally {
      await publisher.close();
      await connection.close();
    }
  });

  it('declares the events exchange; a message not mandatory is confirmed with no queue bound', async () => {
    const exchange = uniqueName('test_events');
    const queue = uniqueName('test_events_bound');
    const connection = new AmqpConnection({
      url: inject('amqpUrl'),
      logger: testLogger(),
      connectionName: 'events-exchange-test',
    });
    const publisher = new ConfirmPublisher({
      connection,
      logger: testLogger(),
      timeoutMs: 5000,
      maxInFlight: 10,
      eventsExchange: exchange,
    });
    const admin = await QueueAdmin.connect(inject('amqpUrl'));
    connection.start();
    try {
      await waitFor('the publish channel', () => publisher.ready);
      const message = { exchange, routingKey: 'shop.order.paid', body: Buffer.from('{}') };
      // Published to the exchange the publisher declared: nothing bound, and no failure.
      await publisher.publish({ ...message, properties: {}, mandatory: false });
      await expect(publisher.publish({ ...message, properties: {} })).rejects.toMatchObject({
        reason: 'unroutable',
      });
      // Bound afterwards (to the exchange as declared: topic), the same publish arrives.
      await admin.bindToEventsExchange({ exchange, queue, pattern: 'shop.#' });
      await publisher.publish({ ...message, properties: {}, mandatory: false });
      expect(await admin.count(queue)).toBe(1);
    } finally {
      await publisher.close();
      await connection.close();
      await admin.deleteQueue(queue);
      await admin.deleteExchange(exchange);
      await admin.close();
    }
  });
});
