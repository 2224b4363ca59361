import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { testTopology } from '../../../test/helpers/pipeline.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import {
  AmqpConnection,
  type Delivery,
  QueueAdmin,
  QueueConsumer,
  type Topology,
} from '../src/index.js';

let admin: QueueAdmin;
let topology: Topology;

beforeAll(async () => {
  admin = await QueueAdmin.connect(inject('amqpUrl'));
  topology = testTopology();
});

afterAll(async () => {
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
});

async function consumeAll(count: number) {
  const deliveries: Delivery[] = [];
  const connection = new AmqpConnection({
    url: inject('amqpUrl'),
    logger: testLogger(),
    connectionName: 'ack-test',
  });
  const consumer = new QueueConsumer({
    connection,
    logger: testLogger(),
    queue: topology.queue,
    prefetch: 100,
    topology,
  });
  consumer.consume((delivery) => deliveries.push(delivery));
  connection.start();
  await waitFor(`${count} deliveries`, () => deliveries.length === count);
  return { deliveries, consumer, connection };
}

describe('QueueConsumer acks', () => {
  it('coalesced acks never acknowledge a delivery that was not acked itself', async () => {
    await admin.declareTopology(topology);
    for (let i = 0; i < 10; i++) await admin.publishRaw(topology.queue, Buffer.from(`m${i}`));

    const { deliveries, consumer, connection } = await consumeAll(10);
    // Ack everything except m2 (held, like a message waiting for the database) and m7
    // (requeued); acks after m2 must not take m2 with them.
    deliveries.forEach((d, i) => {
      if (i === 7) d.nack({ requeue: true });
      else if (i !== 2) d.ack();
    });
    // m7 is redelivered to us at once; leave it unsettled too.
    await waitFor('the requeued message', () => deliveries.length === 11);
    await consumer.pause();
    await consumer.resume();
    await consumer.close();
    await connection.close();

    const left = (await admin.peek(topology.queue, 20)).map((m) => m.body.toString()).sort();
    expect(left).toEqual(['m2', 'm7']);
  });
});
