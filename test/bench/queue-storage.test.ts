import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { classicQueueFormat, formatOf, managementApiOf } from '../../bench/lib/queue-storage.js';
import { testTopology } from '../helpers/pipeline.js';

// A classic run names the storage format the broker kept its queues in, read from the
// management API. Two queues are put in the two formats by policy (the broker's own way to
// choose one per queue), and the bench must read each one back.

const amqpUrl = inject('amqpUrl');
const api = managementApiOf(amqpUrl);
const policiesUrl = `${api.base}/api/policies/${encodeURIComponent(api.vhost)}`;
const headers = { ...api.headers, 'content-type': 'application/json' };

/** Where the broker has no management API on 15672 (a container maps it elsewhere), why. */
async function unavailableReason(): Promise<string | undefined> {
  try {
    const response = await fetch(`${api.base}/api/overview`, {
      headers,
      signal: AbortSignal.timeout(5000),
    });
    return response.status === 200 ? undefined : `management API answered ${response.status}`;
  } catch {
    return `no management API at ${api.base}`;
  }
}
const unavailable = await unavailableReason();

const topologies = new Map<1 | 2, Topology>();
const policyName = (version: number, topology: Topology) => `${topology.queue}_v${version}`;

beforeAll(async () => {
  if (unavailable !== undefined) return;
  const admin = await QueueAdmin.connect(amqpUrl);
  try {
    for (const version of [1, 2] as const) {
      const topology = testTopology({ queueType: 'classic' });
      topologies.set(version, topology);
      const response = await fetch(`${policiesUrl}/${policyName(version, topology)}`, {
        method: 'PUT',
        headers,
        body: JSON.stringify({
          pattern: `^${topology.queue}$`,
          definition: { 'queue-version': version },
          'apply-to': 'queues',
          priority: 100,
        }),
      });
      expect(response.status, await response.text()).toBeLessThan(300);
      await admin.declareTopology(topology);
    }
  } finally {
    await admin.close();
  }
});

afterAll(async () => {
  if (unavailable !== undefined) return;
  const admin = await QueueAdmin.connect(amqpUrl);
  try {
    for (const [version, topology] of topologies) {
      await admin.deleteTopology(topology);
      await fetch(`${policiesUrl}/${policyName(version, topology)}`, {
        method: 'DELETE',
        headers,
      });
    }
  } finally {
    await admin.close();
  }
});

describe.skipIf(unavailable !== undefined)(
  `bench: the classic queue storage format${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    it('reads each queue’s format from the management API', async () => {
      const read = async (version: 1 | 2) =>
        classicQueueFormat({
          amqpUrl,
          queue: topologies.get(version)?.queue ?? '',
          timeoutMs: 20_000,
        });
      expect(await Promise.all([read(1), read(2)])).toEqual([1, 2]);
    }, 30_000);

    it('cannot tell for a queue the broker does not have', async () => {
      expect(await classicQueueFormat({ amqpUrl, queue: 'no_such_queue', timeoutMs: 3000 })).toBe(
        undefined,
      );
    });
  },
);

describe('bench: the classic queue storage format without a management API', () => {
  it('cannot tell when no broker answers at the URL’s host', async () => {
    // `.invalid` never resolves: the request fails as on a broker without the plugin.
    const format = await classicQueueFormat({
      amqpUrl: 'amqp://guest:guest@broker.invalid:5672',
      queue: 'any',
      timeoutMs: 3000,
    });
    expect(format).toBe(undefined);
  });
});

describe('bench: the format in a management API queue document', () => {
  it('is backing_queue_status.version, 1 or 2, and nothing else', () => {
    expect(formatOf({ backing_queue_status: { version: 2, len: 0 } })).toBe(2);
    expect(formatOf({ backing_queue_status: { version: 1 } })).toBe(1);
    // Quorum queues, and classic ones before their first statistics, have none.
    expect(formatOf({ backing_queue_status: {} })).toBe(undefined);
    expect(formatOf({ type: 'quorum' })).toBe(undefined);
    expect(formatOf({ backing_queue_status: { version: 3 } })).toBe(undefined);
    expect(formatOf(null)).toBe(undefined);
  });
});
