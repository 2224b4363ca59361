import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { testTopology } from '../../../test/helpers/pipeline.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { uniqueName } from '../../../test/helpers/test-names.js';
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
/** Queues of the byte-bound tests, one each, deleted at the end. */
const ownQueues: string[] = [];

beforeAll(async () => {
  admin = await QueueAdmin.connect(inject('amqpUrl'));
  topology = testTopology();
});

afterAll(async () => {
  for (const queue of ownQueues) await admin?.deleteQueue(queue).catch(() => {});
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

const KIB = 1024;

/** A fresh classic queue of this file's own, holding `bodies` in order. */
async function queueHolding(bodies: readonly Buffer[]): Promise<string> {
  const queue = uniqueName('test_bytes');
  ownQueues.push(queue);
  const connection = await amqp.connect(inject('amqpUrl'));
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    for (const body of bodies) channel.sendToQueue(queue, body);
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
  return queue;
}

/** How many subscriptions the broker itself counts on `queue`. */
async function subscriptionsOn(queue: string): Promise<number> {
  const connection = await amqp.connect(inject('amqpUrl'));
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(queue)).consumerCount;
  } finally {
    await connection.close();
  }
}

/** A body of `bytes` bytes whose first bytes name it. */
function body(name: string, bytes: number): Buffer {
  return Buffer.from(`${name}:`.padEnd(bytes, '.'));
}

function nameOf(delivery: Delivery): string {
  return delivery.body.toString('utf8', 0, 40).split(':')[0] as string;
}

async function startBounded(options: {
  queue: string;
  prefetch: number;
  maxUnackedBytes: number;
  onDelivery: (delivery: Delivery) => void;
  onReturned?: () => void;
  onSaturated?: () => void;
}) {
  const connection = new AmqpConnection({
    url: inject('amqpUrl'),
    logger: testLogger(),
    connectionName: 'byte-bound-test',
  });
  const consumer = new QueueConsumer({
    connection,
    logger: testLogger(),
    queue: options.queue,
    prefetch: options.prefetch,
    maxUnackedBytes: options.maxUnackedBytes,
    onReturned: options.onReturned,
    onSaturated: options.onSaturated,
  });
  consumer.consume(options.onDelivery);
  connection.start();
  return {
    consumer,
    close: async () => {
      await consumer.close();
      await connection.close();
    },
  };
}

describe('QueueConsumer with a byte bound', () => {
  it('never holds more than the bound plus one message, though sizes jump, and loses none', async () => {
    // Small messages first, so the subscription's window grows to hundreds of them; then large
    // ones, which the broker sends in that same window: past the bound they must be handed back.
    const bodies = [
      ...Array.from({ length: 300 }, (_, i) => body(`small${i}`, KIB)),
      ...Array.from({ length: 30 }, (_, i) => body(`large${i}`, 100 * KIB)),
    ];
    const maxUnackedBytes = 400 * KIB;
    const queue = await queueHolding(bodies);

    // What the consumer holds, counted here from what it handed over and what was settled.
    const held: Delivery[] = [];
    let heldBytes = 0;
    let peakBytes = 0;
    const settled = new Set<string>();
    let returned = 0;
    const running = await startBounded({
      queue,
      prefetch: 1000,
      maxUnackedBytes,
      onDelivery: (delivery) => {
        held.push(delivery);
        heldBytes += delivery.body.length;
        peakBytes = Math.max(peakBytes, heldBytes);
      },
      onReturned: () => {
        returned += 1;
      },
    });
    // A slow store: a few of the oldest settled every few milliseconds.
    const settler = setInterval(() => {
      for (const delivery of held.splice(0, 5)) {
        heldBytes -= delivery.body.length;
        settled.add(nameOf(delivery));
        delivery.ack();
      }
    }, 5);
    try {
      await waitFor(`all ${bodies.length} settled`, () => settled.size === bodies.length, {
        timeoutMs: 30_000,
      });
      expect(running.consumer.unackedBytes).toBe(0);
    } finally {
      clearInterval(settler);
      await running.close();
    }
    expect(peakBytes).toBeGreaterThanOrEqual(maxUnackedBytes);
    expect(peakBytes).toBeLessThan(maxUnackedBytes + 100 * KIB);
    expect(returned).toBeGreaterThan(0);
    expect(await admin.count(queue)).toBe(0);
  });

  it('a pause and the bound hold the subscription back independently: neither ends the other', async () => {
    // Each message alone reaches the bound: the consumer holds one, then stops taking more.
    const size = 100 * KIB;
    const queue = await queueHolding(Array.from({ length: 4 }, (_, i) => body(`m${i}`, size)));
    const received: Delivery[] = [];
    let returned = 0;
    let saturated = 0;
    const running = await startBounded({
      queue,
      prefetch: 100,
      maxUnackedBytes: size,
      onDelivery: (delivery) => received.push(delivery),
      onReturned: () => {
        returned += 1;
      },
      onSaturated: () => {
        saturated += 1;
      },
    });
    const { consumer } = running;
    const subscribed = async (expected: boolean) => {
      expect(consumer.consuming).toBe(expected);
      expect(await subscriptionsOn(queue)).toBe(expected ? 1 : 0);
    };
    try {
      await waitFor('the first message', () => received.length === 1);
      await waitFor('the bound to stop the subscription', () => !consumer.consuming);
      await subscribed(false);

      // Settling under a pause (the database away) must not start the subscription again.
      await consumer.pause();
      received[0]?.ack();
      expect(consumer.unackedBytes).toBe(0);
      // Asking the broker takes a new connection: far longer than a wrong subscribe would.
      await subscribed(false);
      expect(received).toHaveLength(1);
      await consumer.resume();
      await waitFor('the second message', () => received.length === 2);
      await waitFor('the bound to stop the subscription', () => !consumer.consuming);

      // Ending a pause must not start the subscription while the bound is still reached.
      await consumer.pause();
      await consumer.resume();
      await subscribed(false);
      expect(received).toHaveLength(2);
      received[1]?.ack();
      await waitFor('the third message', () => received.length === 3);
      expect(received.map(nameOf)).toEqual(['m0', 'm1', 'm2']);
      // Held back, the subscription never existed: nothing was sent only to be handed back.
      expect(returned).toBe(0);
      // Each delivery left no room for another: each said so (a batch filling stops waiting).
      expect(saturated).toBe(3);

      // A channel that closes gives its unsettled messages back: they are no longer held.
      expect(consumer.unackedBytes).toBe(size);
      await consumer.close();
      expect(consumer.unackedBytes).toBe(0);
    } finally {
      await running.close();
    }
  });
});
