import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FaultProxy } from '../../../test/helpers/fault-proxy.js';
import { uniqueName } from '../../../test/helpers/test-names.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { QueueUnavailableError } from '../src/errors.js';
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

/** A source queue holding `sent` (each its own message id) and an empty target. */
async function moveQueues(
  sent: readonly string[],
  targetArgs: Record<string, unknown> = {},
): Promise<{ from: string; to: string }> {
  const from = uniqueName('move_from');
  const to = uniqueName('move_to');
  await declareQueue(from);
  await declareQueue(to, targetArgs);
  for (const id of sent) await admin.publishRaw(from, Buffer.from(id), { messageId: id });
  return { from, to };
}

const bodies = async (queue: string) =>
  (await admin.peek(queue, 100)).map((m) => m.body.toString()).sort();

describe('QueueAdmin.moveMessages', () => {
  it('a copy the broker refuses between its publish and the ack leaves the original where it was: every message is in one queue or the other', async () => {
    const sent = ['m-1', 'm-2', 'm-3', 'm-4', 'm-5'];
    // The target takes two messages, then refuses (nacks) every publish: the third copy fails
    // after it was sent and before its original could be acked.
    const { from, to } = await moveQueues(sent, {
      'x-max-length': 2,
      'x-overflow': 'reject-publish',
    });

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

  it('a target queue deleted during the move stops it: the copy comes back unroutable and its original stays', async () => {
    const { from, to } = await moveQueues(['m-1', 'm-2', 'm-3']);

    const moved: string[] = [];
    const move = admin.moveMessages({
      from,
      to,
      limit: Number.POSITIVE_INFINITY,
      dryRun: false,
      // The target goes after the first message has moved, before the second's copy is sent.
      select: async (message) => {
        if (message.body.toString() === 'm-2') await admin.deleteQueue(to);
        return { messageId: message.properties.messageId };
      },
      onMoved: (message) => moved.push(message.body.toString()),
    });
    const error = await move.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(QueueUnavailableError);
    expect((error as QueueUnavailableError).reason).toBe('unroutable');

    // m-1 went down with its queue once it had moved; m-2, whose copy had nowhere to go, and
    // m-3 are where they were.
    expect(moved).toEqual(['m-1']);
    expect(await bodies(from)).toEqual(['m-2', 'm-3']);
  });

  it('a broker that stops answering mid-move ends it after confirmTimeoutMs, and the message waits in its queue', async () => {
    const { from, to } = await moveQueues(['m-1']);
    const { proxy, url } = await FaultProxy.inFrontOf(inject('amqpUrl'), 5672);
    const throughProxy = await QueueAdmin.connect(url);
    try {
      const started = Date.now();
      const move = throughProxy.moveMessages({
        from,
        to,
        limit: 1,
        dryRun: false,
        confirmTimeoutMs: 500,
        // From here on nothing reaches the broker, nor comes back: the copy is never confirmed.
        select: (message) => {
          proxy.blackhole();
          return { messageId: message.properties.messageId };
        },
      });
      const error = await move.catch((err: unknown) => err);
      expect(error).toBeInstanceOf(QueueUnavailableError);
      expect((error as QueueUnavailableError).reason).toBe('timeout');
      // The confirm's wait, then the bounded wait for the channel to close.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      proxy.restore();
      await throughProxy.close();
      await proxy.close();
    }
    // The connection is gone: its unacked message is back, and no copy was made.
    await waitFor('m-1 back in its queue', async () => (await admin.count(from)) === 1);
    expect(await bodies(from)).toEqual(['m-1']);
    expect(await admin.count(to)).toBe(0);
  });
});
