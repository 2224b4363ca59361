import amqp from 'amqplib';
import { describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../test/helpers/free-port.js';
import { testTopology } from '../../../test/helpers/pipeline.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { AmqpConnection } from '../src/amqp-connection.js';
import { TopologyMismatchError } from '../src/errors.js';
import { QueueAdmin } from '../src/queue-admin.js';
import { assertTopology } from '../src/topology.js';

/** `amqp://…@127.0.0.1:<a port nothing listens on>`: a node that is down. */
async function deadNodeUrl(): Promise<string> {
  const url = new URL(inject('amqpUrl'));
  url.port = String(await freePort());
  return url.toString();
}

describe('AmqpConnection given several nodes', () => {
  it('connects to the one that answers, whichever it starts with', async () => {
    const urls = [await deadNodeUrl(), await deadNodeUrl(), inject('amqpUrl')];
    // The start is random: several connections cover the dead nodes first.
    for (let run = 0; run < 4; run++) {
      const connection = new AmqpConnection({
        url: urls,
        logger: testLogger(),
        connectionName: 'node-list-test',
        initialReconnectDelayMs: 20,
      });
      connection.start();
      try {
        await connection.waitUntilConnected(10_000);
        expect(connection.node).toBe(new URL(inject('amqpUrl')).host);
      } finally {
        await connection.close();
      }
    }
  });

  it('QueueAdmin (the operator tools) finds the node that answers too', async () => {
    const admin = await QueueAdmin.connect([await deadNodeUrl(), inject('amqpUrl')]);
    await admin.close();
    await expect(QueueAdmin.connect([await deadNodeUrl()])).rejects.toThrow(
      /no broker node answered/,
    );
  });
});

describe('declaring the topology over queues of the other type', () => {
  it('fails with one error naming the queue, its type and what to do', async () => {
    const classic = testTopology({ queueType: 'classic' });
    const admin = await QueueAdmin.connect(inject('amqpUrl'));
    const connection = await amqp.connect(inject('amqpUrl'));
    try {
      const setup = await connection.createChannel();
      await assertTopology(setup, classic);
      await setup.close();

      const channel = await connection.createChannel();
      channel.on('error', () => {});
      const failure = await assertTopology(channel, { ...classic, queueType: 'quorum' }).catch(
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(TopologyMismatchError);
      expect(failure).toMatchObject({ code: 'TOPOLOGY_MISMATCH' });
      const message = (failure as Error).message;
      expect(message).toContain(`queue "${classic.deadLetterQueue}" exists as a classic queue`);
      expect(message).toContain('QUEUE_TYPE is quorum');
      expect(message).toContain('Set QUEUE_TYPE=classic');
      expect(message).toContain('new QUEUE_NAME');
    } finally {
      await connection.close().catch(() => {});
      await admin.deleteTopology(classic).catch(() => {});
      await admin.close();
    }
  });
});
