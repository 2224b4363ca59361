import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniqueName } from '../../../test/helpers/test-names.js';
import { QueueAdmin } from '../src/queue-admin.js';

let admin: QueueAdmin;
let connection: ChannelModel;
const declared: string[] = [];

beforeAll(async () => {
  admin = await QueueAdmin.connect(inject('amqpUrl'));
  connection = await amqp.connect(inject('amqpUrl'));
});

afterAll(async () => {
  for (const queue of declared) await admin.deleteQueue(queue);
  await admin.close();
  await connection.close();
});

async function declareQueue(name: string, args: Record<string, unknown> = {}): Promise<void> {
  const channel = await connection.createChannel();
  try {
    await channel.assertQueue(name, { durable: true, arguments: args });
    declared.push(name);
  } finally {
    await channel.close();
  }
}

const bodies = async (queue: string) =>
  (await admin.peek(queue, 100)).map((m) => m.body.toString()).sort();

describe('QueueAdmin.moveMessages', () => {
  it('a copy the broker refuses between its publish and the ack leaves the original where it was: every message is in one queue or the other', async () => {
    const from = uniqueName('move_from');
    const to = uniqueName('move_to');
    await declareQueue(from);
    // Takes two messages, then refuses (nacks) every publish: the third copy fails after it
    // was sent and before its original could be acked.
    await declareQueue(to, { 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    const sent = ['m-1', 'm-2', 'm-3', 'm-4', 'm-5'];
    for (const id of sent) await admin.publishRaw(from, Buffer.from(id), { messageId: id });

    const moved: string[] = [];
    const move = admin.moveMessages({
      from,
      to,
      limit: Number.POSITIVE_INFINITY,
      dryRun: false,
      select: (message) => ({ messageId: message.properties.messageId }),
      onMoved: (message) => moved.push(message.body.toString()),
    });
    await expect(move).rejects.toThrow();

    expect(moved).toEqual(['m-1', 'm-2']);
    const inTarget = await bodies(to);
    const inSource = await bodies(from);
    expect(inTarget).toEqual(['m-1', 'm-2']);
    // The refused one is back in its queue with those never taken: none is lost.
    expect(inSource).toEqual(['m-3', 'm-4', 'm-5']);
    expect([...inTarget, ...inSource].sort()).toEqual(sent);
  });
});
