import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FaultProxy } from '../../../test/helpers/fault-proxy.js';
import { type IngestHarness, startIngest, testTopology } from '../../../test/helpers/pipeline.js';
import { waitFor } from '../../../test/helpers/wait-for.js';

// Long enough that "503 at once" and "503 at the timeout" stay apart on a loaded machine.
const PUBLISH_TIMEOUT_MS = 5000;
let proxy: FaultProxy;
let ingest: IngestHarness;
let admin: QueueAdmin;
let topology: Topology;

beforeAll(async () => {
  const brokerUrl = inject('amqpUrl');
  const front = await FaultProxy.inFrontOf(brokerUrl, 5672);
  proxy = front.proxy;
  topology = testTopology();
  // The API reaches the broker only through the proxy, which the tests cut and restore.
  ingest = await startIngest({
    amqpUrl: front.url,
    topology,
    env: { PUBLISH_TIMEOUT_MS: String(PUBLISH_TIMEOUT_MS) },
  });
  admin = await QueueAdmin.connect(brokerUrl);
});

afterAll(async () => {
  await ingest?.close();
  await proxy?.close();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
});

const post = (id: string) =>
  ingest.post({ source: 'acme', type: 'order.created', id, data: { total: 42, items: ['a'] } });
const readyz = async () => (await ingest.app.inject('/readyz')).statusCode;

describe('ingest API against a real broker', () => {
  it('a 200 means the event is in the queue: persistent, with its source, id and request id', async () => {
    const res = await post('evt-landed');
    expect(res.statusCode).toBe(200);

    const [message] = await admin.peek(topology.queue, 10);
    expect(message).toBeDefined();
    expect(JSON.parse(message?.body.toString() ?? '')).toMatchObject({
      id: 'evt-landed',
      source: 'acme',
      type: 'order.created',
      data: { total: 42, items: ['a'] },
    });
    expect(message?.properties).toMatchObject({
      deliveryMode: 2,
      messageId: 'evt-landed',
      contentType: 'application/json',
    });
    expect(message?.headers).toMatchObject({
      'x-request-id': res.headers['x-request-id'],
      'x-attempt': 1,
    });
  });

  it('with the broker cut off: 503 + Retry-After within the timeout, /readyz 503, nothing published; then it recovers by itself', async () => {
    const before = await admin.count(topology.queue);
    proxy.cut();
    await waitFor('readyz to report the broker down', async () => (await readyz()) === 503);

    const started = Date.now();
    const refused = await post('evt-during-outage');
    expect(Date.now() - started).toBeLessThan(PUBLISH_TIMEOUT_MS);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.json()).toEqual({ error: 'queue_unavailable' });

    proxy.restore();
    const accepted = await waitFor('a 200 after the broker returns', async () => {
      const res = await post('evt-after-outage');
      return res.statusCode === 200 ? res : undefined;
    });
    expect(accepted.json().id).toBe('evt-after-outage');
    expect(await readyz()).toBe(200);

    const ids = (await admin.peek(topology.queue, 100)).map((m) => m.properties.messageId);
    expect(ids).toContain('evt-after-outage');
    expect(ids).not.toContain('evt-during-outage');
    expect(ids).toHaveLength(before + 1);
  });

  it('when the broker stops answering (no confirm), 503 after PUBLISH_TIMEOUT_MS, never a false 200', async () => {
    proxy.blackhole();
    const started = Date.now();
    const res = await post('evt-unconfirmed');
    const elapsed = Date.now() - started;
    expect(res.statusCode).toBe(503);
    expect(elapsed).toBeGreaterThanOrEqual(PUBLISH_TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(PUBLISH_TIMEOUT_MS + 5000);

    proxy.restore();
    await waitFor(
      'a 200 after the broker answers again',
      async () => (await post('evt-after-hang')).statusCode === 200,
    );
  });
});
