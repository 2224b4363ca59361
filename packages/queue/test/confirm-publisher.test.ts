import { describe, expect, inject, it } from 'vitest';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { AmqpConnection } from '../src/amqp-connection.js';
import { ConfirmPublisher } from '../src/confirm-publisher.js';

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
});
