import { randomBytes, randomUUID } from 'node:crypto';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { QueueAdmin, type Topology } from '@webhooks/queue';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type IngestHarness,
  startConsumer,
  startIngest,
  testTopology,
} from '../../../test/helpers/pipeline.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerService } from '../../consumer/src/consumer-service.js';

const SECRETS = {
  github: randomBytes(20).toString('hex'),
  stripe: `whsec_${randomBytes(16).toString('hex')}`,
  standard: `whsec_${randomBytes(24).toString('base64')}`,
};
/** `WEBHOOK_SOURCES` as an operator would write it. */
const WEBHOOK_SOURCES = JSON.stringify({
  github: { scheme: 'github', secret: SECRETS.github },
  stripe: { scheme: 'stripe', secret: SECRETS.stripe },
  acme: { scheme: 'standard', secret: SECRETS.standard },
});

let database: TestDatabase;
let topology: Topology;
let ingest: IngestHarness;
let consumer: ConsumerService | undefined;
let admin: QueueAdmin;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology();
  ingest = await startIngest({
    amqpUrl: inject('amqpUrl'),
    topology,
    env: { WEBHOOK_SOURCES },
  });
  admin = await QueueAdmin.connect(inject('amqpUrl'));
});

afterAll(async () => {
  await ingest?.close();
  await consumer?.stop();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

const post = (source: string, body: string, headers: Record<string, string>) =>
  ingest.app.inject({
    method: 'POST',
    url: `/webhook/${source}`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: body,
  });

interface Delivery {
  id: string;
  body: string;
  /** The provider's headers for `body`, signed by its own library at `atMs` (now by default). */
  headers(body: string, id: string, atMs?: number): Promise<Record<string, string>>;
}

const stripeEventId = `evt_${randomBytes(12).toString('hex')}`;

/** One delivery per configured source. */
const deliveries: Record<'github' | 'stripe' | 'acme', Delivery> = {
  github: {
    id: randomUUID(),
    body: JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'acme/app' } }),
    headers: async (body, id) => ({
      'x-github-event': 'push',
      'x-github-delivery': id,
      'x-hub-signature-256': await signGithub(SECRETS.github, body),
    }),
  },
  stripe: {
    id: stripeEventId,
    body: JSON.stringify({
      id: stripeEventId,
      object: 'event',
      type: 'invoice.paid',
      created: 1_767_225_600,
      data: { object: { id: 'in_1', amount_paid: 1999 } },
    }),
    headers: async (body, _id, atMs = Date.now()) => ({
      'stripe-signature': Stripe.webhooks.generateTestHeaderString({
        payload: body,
        secret: SECRETS.stripe,
        timestamp: Math.floor(atMs / 1000),
      }),
    }),
  },
  acme: {
    id: `msg_${randomBytes(12).toString('hex')}`,
    body: JSON.stringify({ type: 'user.created', timestamp: '2026-02-03T04:05:06Z', data: {} }),
    headers: async (body, id, atMs = Date.now()) => ({
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(atMs / 1000)),
      'webhook-signature': new StandardWebhook(SECRETS.standard).sign(id, new Date(atMs), body),
    }),
  },
};

describe('provider webhooks through RabbitMQ and the consumer into PostgreSQL', () => {
  it("stores each provider's signed delivery once, with its source, type and id, even when delivered twice; forgeries are not stored", async () => {
    for (const [source, delivery] of Object.entries(deliveries)) {
      const { id, body } = delivery;
      const first = await post(source, body, await delivery.headers(body, id));
      // The provider's retry of the same delivery: same id, signed again a little later.
      const retry = await post(source, body, await delivery.headers(body, id, Date.now() + 2000));
      const forged = await post(
        source,
        body.replace('}', ',"forged":true}'),
        await delivery.headers(body, id),
      );
      expect([first.statusCode, retry.statusCode, forged.statusCode]).toEqual([200, 200, 401]);
      expect([first.json().id, retry.json().id]).toEqual([id, id]);
    }
    // Both copies of every delivery are in the queue before anything consumes them.
    expect(await admin.count(topology.queue)).toBe(6);

    consumer = startConsumer({ amqpUrl: inject('amqpUrl'), databaseUrl: database.url, topology });
    await waitFor('the three events to be stored', async () => (await rows()).length === 3, {
      timeoutMs: 15_000,
    });
    await waitFor('the queue to drain', async () => (await admin.count(topology.queue)) === 0);
    // Stopping stores and acks whatever the consumer still holds: after it, the table is final.
    await consumer.stop();
    expect(await admin.count(topology.queue)).toBe(0);

    expect(await rows()).toEqual([
      {
        source: 'acme',
        event_id: deliveries.acme.id,
        type: 'user.created',
        data: JSON.parse(deliveries.acme.body),
        timestamp: new Date('2026-02-03T04:05:06Z'),
      },
      {
        source: 'github',
        event_id: deliveries.github.id,
        type: 'push',
        data: JSON.parse(deliveries.github.body),
        timestamp: expect.any(Date),
      },
      {
        source: 'stripe',
        event_id: deliveries.stripe.id,
        type: 'invoice.paid',
        data: JSON.parse(deliveries.stripe.body),
        timestamp: new Date('2026-01-01T00:00:00Z'),
      },
    ]);
    expect(await admin.count(topology.deadLetterQueue)).toBe(0);
  });
});

describe("GitHub's default form encoding through the pipeline", () => {
  it('stores a form-encoded GitHub delivery exactly as the same delivery sent as JSON, and dedupes it with it', async () => {
    // Numbers a double would alter, and characters the form encoding escapes.
    const json =
      '{"action": "opened", "issue": {"id": 12345678901234567890, "title": "a+b & c=d 100% ü"},' +
      ' "amount": 1.10}';
    /** GitHub's form body: `payload=<URL-encoded JSON>`. */
    const form = new URLSearchParams({ payload: json }).toString();
    const signed = async (body: string, id: string) => ({
      'x-github-event': 'issues',
      'x-github-delivery': id,
      'x-hub-signature-256': await signGithub(SECRETS.github, body),
    });
    const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };
    const jsonId = randomUUID();
    const formId = randomUUID();
    const answers = [
      await post('github', json, await signed(json, jsonId)),
      await post('github', form, { ...formHeaders, ...(await signed(form, formId)) }),
      // The JSON delivery again, form-encoded: the same event, so stored once.
      await post('github', form, { ...formHeaders, ...(await signed(form, jsonId)) }),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
    expect(answers.map((a) => a.json().id)).toEqual([jsonId, formId, jsonId]);

    consumer = startConsumer({ amqpUrl: inject('amqpUrl'), databaseUrl: database.url, topology });
    const stored = async () =>
      (
        await database.db.query<{ event_id: string; type: string; data: string }>(
          `SELECT event_id, type, data::text AS data
             FROM webhook_events WHERE source = 'github' AND event_id = ANY($1) ORDER BY event_id`,
          [[jsonId, formId]],
        )
      ).rows;
    await waitFor('both deliveries stored', async () => (await stored()).length === 2, {
      timeoutMs: 15_000,
    });
    await waitFor('the queue to drain', async () => (await admin.count(topology.queue)) === 0);
    await consumer.stop();

    const expected = (
      await database.db.query<{ data: string }>('SELECT $1::jsonb::text AS data', [json])
    ).rows[0]?.data;
    expect(expected).toContain('12345678901234567890');
    expect(expected).toContain('1.10');
    const byId = new Map((await stored()).map((row) => [row.event_id, row]));
    expect(byId.get(jsonId)).toEqual({ event_id: jsonId, type: 'issues', data: expected });
    expect(byId.get(formId)).toEqual({ event_id: formId, type: 'issues', data: expected });
    expect(await admin.count(topology.deadLetterQueue)).toBe(0);
  });
});

async function rows(): Promise<Array<Record<string, unknown>>> {
  const result = await database.db.query<Record<string, unknown>>(
    'SELECT source, event_id, type, data, "timestamp" FROM webhook_events ORDER BY source',
  );
  return result.rows;
}
