import { parseEnv } from '@webhooks/config';
import { QueueAdmin, settingsOfTopology, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { testTopology } from '../../../test/helpers/pipeline.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { IngestConfig } from '../src/config.js';
import { createIngestService, type IngestService } from '../src/ingest-service.js';
import { WARM_UP_CONNECTIONS } from '../src/warm-up.js';

// A fresh API runs representative requests through its own path before /readyz answers 200,
// its messages confirmed by the broker but sent where no queue takes them: the queue holds only
// what clients sent.
// Many more than the default, so that the broker is connected long before they are all run.
const WARM_UP_REQUESTS = 40_000;

let admin: QueueAdmin;
let topology: Topology;
let service: IngestService;
let listening: IngestService | undefined;

const ingestService = (warmUpRequests: number) =>
  createIngestService(
    parseEnv(IngestConfig, {
      AMQP_URL: inject('amqpUrl'),
      ...settingsOfTopology(topology),
      MAX_BACKLOG: '0',
      KEEP_REJECTED: 'false',
    }),
    testLogger(),
    { initialReconnectDelayMs: 50, maxReconnectDelayMs: 250, warmUpRequests },
  );

beforeAll(async () => {
  topology = testTopology();
  admin = await QueueAdmin.connect(inject('amqpUrl'));
  service = ingestService(WARM_UP_REQUESTS);
});

afterAll(async () => {
  await service?.stop();
  await listening?.stop();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
});

const readyz = () => service.app.inject('/readyz');
const metric = async (name: string) => {
  const text = (await service.app.inject('/metrics')).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};

describe('ingest API warm-up', () => {
  it('/readyz is 503 until the warm-up has run; no warm-up message reaches a queue, a client request during it is published', async () => {
    service.start();
    // Connected to the broker, still warming up: not ready.
    await waitFor(
      'the broker connection',
      async () => (await readyz()).json<{ broker: string }>().broker === 'connected',
      { timeoutMs: 10_000 },
    );
    expect(service.warmUp.done).toBe(false);
    const warming = await readyz();
    expect(warming.statusCode).toBe(503);
    expect(warming.json()).toEqual({ status: 'warming_up', broker: 'connected' });

    // A client's request meanwhile is published and confirmed as always.
    const client = await service.app.inject({
      method: 'POST',
      url: '/webhook',
      headers: { 'content-type': 'application/json', 'x-warm-up': 'guess' },
      payload: { source: 'acme', type: 'order.created', id: 'during-warm-up', data: {} },
    });
    expect(client.statusCode).toBe(200);

    await waitFor('the warm-up', async () => (await readyz()).statusCode === 200, {
      timeoutMs: 60_000,
    });
    expect(service.warmUp.done).toBe(true);
    // Every rehearsal went through the broker and was confirmed (its publish path is warm)...
    expect(service.warmUp.confirmedRehearsals).toBe(WARM_UP_REQUESTS);
    // ...and none reached a queue: only the client's event is there, and only it is counted.
    expect(await admin.count(topology.queue)).toBe(1);
    const [message] = await admin.peek(topology.queue, 10);
    expect(message?.properties.messageId).toBe('during-warm-up');
    expect(await metric('webhooks_accepted_total')).toBe(1);
    expect(await metric('http_requests_total{route="/webhook",method="POST",status="200"}')).toBe(
      1,
    );
  }, 90_000);

  it('a listening API also warms up over connections to its own port, none of it reaching a queue', async () => {
    listening = ingestService(200);
    await listening.app.listen({ port: 0, host: '127.0.0.1' });
    const before = await admin.count(topology.queue);
    listening.start();
    const app = listening.app;
    await waitFor('the warm-up', async () => (await app.inject('/readyz')).statusCode === 200, {
      timeoutMs: 60_000,
    });
    // Every connection carried its two requests, each answered and confirmed by the broker.
    expect(listening.warmUp.answeredOverSockets).toBe(WARM_UP_CONNECTIONS * 2);
    expect(listening.warmUp.confirmedRehearsals).toBe(200 + WARM_UP_CONNECTIONS * 2);
    expect(await admin.count(topology.queue)).toBe(before);
    const text = (await app.inject('/metrics')).body;
    expect(text).not.toMatch(/^webhooks_accepted_total [1-9]/m);
    expect(text).not.toMatch(/^http_requests_total\{route="\/webhook"/m);
  }, 90_000);
});
