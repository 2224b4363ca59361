import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { QueueAdmin } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { testTopology } from './helpers/pipeline.js';
import { type ServiceProcess, startService } from './helpers/service-process.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';
import { waitFor } from './helpers/wait-for.js';

// Both services run as their own processes, logging everything (LOG_LEVEL=trace) while they
// are given secrets and handed credentials: none of them may reach a log line.

const secret = (prefix: string) => `${prefix}${randomBytes(16).toString('hex')}`;
const SECRETS = {
  githubSecret: secret('gh-secret-'),
  standardSecret: `whsec_${randomBytes(24).toString('base64')}`,
  opsToken: secret('ops-token-'),
  clientBearer: secret('client-bearer-'),
  databasePassword: secret('db-password-'),
};
const topology = testTopology();
let database: TestDatabase;
let ingest: ServiceProcess;
let consumer: ServiceProcess;
let ingestUrl: string;
let consumerUrl: string;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  // The server trusts local connections, so any password works; the point is where it goes.
  const databaseUrl = new URL(database.url);
  databaseUrl.password = SECRETS.databasePassword;
  const queueSettings = {
    AMQP_URL: inject('amqpUrl'),
    EXCHANGE_NAME: topology.exchange,
    QUEUE_NAME: topology.queue,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'trace',
  };
  const [ingestPort, consumerPort] = [await freePort(), await freePort()];
  ingest = startService('ingest-api', {
    ...queueSettings,
    PORT: String(ingestPort),
    WEBHOOK_SOURCES: JSON.stringify({
      github: { scheme: 'github', secret: SECRETS.githubSecret },
      acme: { scheme: 'standard', secrets: [SECRETS.standardSecret] },
    }),
  });
  consumer = startService('consumer', {
    ...queueSettings,
    PORT: String(consumerPort),
    DATABASE_URL: databaseUrl.toString(),
    OPS_TOKEN: SECRETS.opsToken,
  });
  ingestUrl = `http://127.0.0.1:${ingestPort}`;
  consumerUrl = `http://127.0.0.1:${consumerPort}`;
  for (const url of [ingestUrl, consumerUrl]) {
    await waitFor('the service to be ready', async () => (await fetch(`${url}/readyz`)).ok, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
  }
}, 60_000);

afterAll(async () => {
  for (const service of [ingest, consumer]) {
    if (service?.child.exitCode === null) service.child.kill('SIGKILL');
  }
  const admin = await QueueAdmin.connect(inject('amqpUrl'));
  await admin.deleteTopology(topology).catch(() => {});
  await admin.close();
  await database?.drop();
});

const drained = (stream: Readable | null) => (stream === null ? undefined : finished(stream));

describe('secrets never reach the logs', () => {
  it('of either service, whatever requests they are sent', async () => {
    const authorization = { authorization: `Bearer ${SECRETS.clientBearer}` };
    const json = { 'content-type': 'application/json', ...authorization };
    const answers = await Promise.all([
      fetch(`${ingestUrl}/webhook/github`, {
        method: 'POST',
        headers: {
          ...json,
          'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
          'x-github-event': 'push',
          'x-github-delivery': 'd-1',
        },
        body: '{"ref":"main"}',
      }),
      fetch(`${ingestUrl}/webhook/acme`, { method: 'POST', headers: json, body: '{}' }),
      fetch(`${ingestUrl}/webhook`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ source: 'logs', type: 'checked', id: 'secret-test-1' }),
      }),
      fetch(`${ingestUrl}/webhook`, { method: 'POST', headers: json, body: '{"broken":' }),
      fetch(`${consumerUrl}/events`, { headers: authorization }),
      fetch(`${consumerUrl}/events?limit=x`, {
        headers: { authorization: `Bearer ${SECRETS.opsToken}` },
      }),
    ]);
    expect(answers.map((res) => res.status)).toEqual([401, 401, 200, 400, 401, 400]);

    const stored = await waitFor('the event to be stored', async () => {
      const res = await fetch(`${consumerUrl}/events?source=logs`, {
        headers: { authorization: `Bearer ${SECRETS.opsToken}` },
      });
      const body = (await res.json()) as { items: unknown[] };
      return body.items.length === 1 ? body : undefined;
    });
    expect(stored.items).toHaveLength(1);

    ingest.child.kill('SIGTERM');
    consumer.child.kill('SIGTERM');
    expect(await Promise.all([ingest.exited, consumer.exited])).toEqual([0, 0]);
    // Everything they wrote, up to their last line.
    await Promise.all(
      [ingest, consumer].flatMap(({ child }) => [child.stdout, child.stderr].map(drained)),
    );

    const logs = `${ingest.output()}\n${consumer.output()}`;
    // The logs did record these requests, so their absence below means something.
    expect(logs).toContain('webhook signature refused');
    expect(logs).toContain('"eventId":"secret-test-1"');
    for (const [name, value] of Object.entries(SECRETS)) {
      expect(logs.includes(value), `${name} appears in the logs`).toBe(false);
    }
    const broker = new URL(inject('amqpUrl'));
    expect(logs).not.toContain(`${broker.username}:${broker.password}@`);
  });
});
