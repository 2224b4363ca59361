import { QueueAdmin, topologyFor } from '@webhooks/queue';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../../test/helpers/free-port.js';
import { startService } from '../../../test/helpers/service-process.js';
import { uniqueName } from '../../../test/helpers/test-names.js';
import { waitFor } from '../../../test/helpers/wait-for.js';

const queue = uniqueName('test_ingest_main');
const exchange = uniqueName('test_webhooks');

afterAll(async () => {
  const admin = await QueueAdmin.connect(inject('amqpUrl'));
  await admin
    .deleteTopology(
      topologyFor({ exchange, queue, retryDelaysMs: [1000, 2000, 4000], queueType: 'classic' }),
    )
    .catch(() => {});
  await admin.close();
});

describe('the ingest-api process', () => {
  it('refuses to start on bad settings, naming every bad variable at once', async () => {
    const service = startService('ingest-api', {
      PORT: 'eighty',
      AMQP_URL: 'http://not-amqp',
      PUBLISH_TIMEOUT_MS: '-5',
    });
    expect(await service.exited).toBe(1);
    for (const name of ['PORT', 'AMQP_URL', 'PUBLISH_TIMEOUT_MS']) {
      expect(service.output()).toContain(name);
    }
  });

  it('serves, accepts a webhook, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const service = startService('ingest-api', {
      PORT: String(port),
      HOST: '127.0.0.1',
      AMQP_URL: inject('amqpUrl'),
      QUEUE_NAME: queue,
      EXCHANGE_NAME: exchange,
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      'the service to be ready',
      async () => (await fetch(`${base}/readyz`)).status === 200,
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    const res = await fetch(`${base}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ source: 'acme', type: 'ping', id: 'proc-1' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'success', id: 'proc-1' });

    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(service.output()).toContain('shutdown complete');
  });
});
