import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { QueueAdmin, type RejectedQueue, rejectedQueueFor, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type IngestHarness,
  startConsumer,
  startIngest,
  testTopology,
} from '../../../test/helpers/pipeline.js';
import { metricValue } from '../../../test/helpers/prometheus.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerService } from '../../consumer/src/consumer-service.js';

// The quarantine against the real broker and database: a GitHub delivery signed with a secret
// the API does not have yet is refused and kept; once the secret is fixed, `pnpm
// rejected:replay` admits it, stored once, while a forgery stays refused. A flood of forgeries
// keeps the rejected queue within its caps.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);
const OPS_TOKEN = randomBytes(16).toString('hex');
const SECRETS = {
  old: randomBytes(20).toString('hex'),
  new: randomBytes(20).toString('hex'),
  forger: randomBytes(20).toString('hex'),
};
const sourcesWith = (secret: string) => JSON.stringify({ github: { scheme: 'github', secret } });

/** Settings of an API that keeps refused requests in `queue` and has `secret` for GitHub. */
const keeping = (queue: RejectedQueue, secret: string) => ({
  WEBHOOK_SOURCES: sourcesWith(secret),
  KEEP_REJECTED: 'true',
  REJECTED_QUEUE_MAX_LENGTH: String(queue.maxLength),
  REJECTED_QUEUE_MAX_BYTES: String(queue.maxBytes),
});

let database: TestDatabase;
const admin = () => QueueAdmin.connect(inject('amqpUrl'));

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
});

afterAll(async () => {
  await database?.drop();
});

const githubDelivery = async (secret: string, extraHeaders: Record<string, string> = {}) => {
  const id = randomUUID();
  const body = JSON.stringify({ ref: 'refs/heads/main', delivery: id, pusher: { name: 'ann' } });
  return {
    id,
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': id,
      'x-hub-signature-256': await signGithub(secret, body),
      ...extraHeaders,
    },
  };
};

describe('the quarantine of refused provider requests', () => {
  let topology: Topology;
  let rejectedQueue: RejectedQueue;
  let ingest: IngestHarness;
  let consumer: ConsumerService;

  beforeAll(async () => {
    topology = testTopology();
    // The defaults of REJECTED_QUEUE_MAX_LENGTH and _BYTES, as the consumer declares it.
    rejectedQueue = rejectedQueueFor({
      queue: topology.queue,
      maxLength: 10_000,
      maxBytes: 67_108_864,
      queueType: topology.queueType,
    });
    ingest = await startIngest({
      amqpUrl: inject('amqpUrl'),
      topology,
      env: keeping(rejectedQueue, SECRETS.old),
    });
    consumer = startConsumer({
      amqpUrl: inject('amqpUrl'),
      databaseUrl: database.url,
      topology,
      env: { OPS_TOKEN },
    });
  });

  afterAll(async () => {
    await ingest?.close();
    await consumer?.stop();
    const broker = await admin();
    await broker.deleteTopology(topology).catch(() => {});
    await broker.close();
  });

  const listRejected = async (query = '') => {
    const response = await consumer.app.inject({
      method: 'GET',
      url: `/rejected${query}`,
      headers: { authorization: `Bearer ${OPS_TOKEN}` },
    });
    expect(response.statusCode).toBe(200);
    return response.json() as {
      items: Array<Record<string, unknown> & { id: string; headers: Record<string, unknown> }>;
      nextCursor: string | null;
    };
  };
  const storedCount = async (eventId: string) =>
    (
      await database.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM webhook_events WHERE source = 'github' AND event_id = $1`,
        [eventId],
      )
    ).rows[0]?.n;
  const replay = (args: string[]) =>
    run('pnpm', ['--silent', 'rejected:replay', ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        AMQP_URL: inject('amqpUrl'),
        EXCHANGE_NAME: topology.exchange,
        QUEUE_NAME: topology.queue,
        QUEUE_TYPE: topology.queueType,
        RETRY_DELAYS_MS: topology.retryQueues.map((q) => q.delayMs).join(','),
        // The secret fixed.
        WEBHOOK_SOURCES: sourcesWith(SECRETS.new),
        LOG_LEVEL: 'warn',
      },
      timeout: 60_000,
    });

  it('keeps 401s and 404s without credentials, lists them, and replays the ones that verify once the secret is fixed', async () => {
    const rotated = await githubDelivery(SECRETS.new, {
      authorization: 'Bearer hunter2',
      cookie: 'session=abc',
      'x-api-key': 'k-123',
    });
    const forged = await githubDelivery(SECRETS.forger);
    for (const delivery of [rotated, forged]) {
      const answer = await ingest.app.inject({
        method: 'POST',
        url: '/webhook/github',
        headers: delivery.headers,
        payload: delivery.body,
      });
      expect(answer.statusCode).toBe(401);
      expect(answer.json()).toEqual({ error: 'invalid_signature' });
    }
    const unknown = await ingest.app.inject({
      method: 'POST',
      url: '/webhook/gitlab',
      headers: { 'content-type': 'application/json' },
      payload: '{"object_kind":"push"}',
    });
    expect(unknown.statusCode).toBe(404);

    const all = await waitFor('the three refused requests stored', async () => {
      const page = await listRejected();
      return page.items.length === 3 && page;
    });
    const kept = all.items.find((item) => item.headers['x-github-delivery'] === rotated.id);
    expect(kept).toMatchObject({
      source: 'github',
      reason: 'invalid_signature',
      detail: 'signature_mismatch',
      admittedAt: null,
      bodyBase64: Buffer.from(rotated.body).toString('base64'),
      bodyBytes: Buffer.byteLength(rotated.body),
    });
    expect(kept?.headers['x-hub-signature-256']).toBe(rotated.headers['x-hub-signature-256']);
    for (const credential of ['authorization', 'cookie', 'x-api-key']) {
      expect(kept?.headers).not.toHaveProperty(credential);
    }
    expect((await listRejected('?reason=unknown_source')).items).toMatchObject([
      { source: 'gitlab', reason: 'unknown_source', bodyBase64: btoa('{"object_kind":"push"}') },
    ]);
    expect((await listRejected('?source=github')).items).toHaveLength(2);
    // Cursor pages cover the list with no repeats.
    const first = await listRejected('?limit=2');
    const second = await listRejected(`?limit=2&cursor=${first.nextCursor}`);
    expect(second.nextCursor).toBeNull();
    expect(new Set([...first.items, ...second.items].map((i) => i.id)).size).toBe(3);
    for (const bad of ['?reason=bad_mood', '?cursor=nonsense', '?colour=red', '?from=yesterday']) {
      const refused = await consumer.app.inject({
        method: 'GET',
        url: `/rejected${bad}`,
        headers: { authorization: `Bearer ${OPS_TOKEN}` },
      });
      expect(refused.statusCode, bad).toBe(400);
      expect(refused.json()).toMatchObject({ error: 'invalid_query' });
    }
    // One by id, as the console's detail view reads it.
    const byId = (id: string, authorization = `Bearer ${OPS_TOKEN}`) =>
      consumer.app.inject({ method: 'GET', url: `/rejected/${id}`, headers: { authorization } });
    const one = await byId(kept?.id ?? '');
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(kept);
    expect((await byId(randomUUID())).statusCode).toBe(404);
    expect((await byId('not-a-uuid')).json()).toMatchObject({ error: 'invalid_query' });
    expect((await byId(kept?.id ?? '', 'Bearer wrong-token-0000000000')).statusCode).toBe(401);
    // Behind OPS_TOKEN.
    const anonymous = await consumer.app.inject({ method: 'GET', url: '/rejected' });
    expect(anonymous.statusCode).toBe(401);

    const dryRun = await replay(['--source', 'github', '--dry-run']);
    expect(dryRun.stdout).toBe('verified 1, still rejected 1, would publish 1\n');
    expect(await storedCount(rotated.id)).toBe(0);

    const replayed = await replay(['--source', 'github']);
    expect(replayed.stdout).toBe('verified 1, still rejected 1, published 1\n');
    await waitFor(
      'the replayed delivery stored',
      async () => (await storedCount(rotated.id)) === 1,
    );
    const admitted = (await listRejected('?source=github')).items;
    expect(admitted.find((i) => i.id === kept?.id)).toMatchObject({ admittedEventId: rotated.id });
    expect(admitted.find((i) => i.id !== kept?.id)).toMatchObject({ admittedAt: null });

    // GitHub's own redelivery, now that the API has the new secret too, is absorbed: the
    // delivery id is the dedup key whichever way the event came.
    const fixed = await startIngest({
      amqpUrl: inject('amqpUrl'),
      topology,
      env: { WEBHOOK_SOURCES: sourcesWith(SECRETS.new) },
    });
    try {
      const redelivered = await fixed.app.inject({
        method: 'POST',
        url: '/webhook/github',
        headers: rotated.headers,
        payload: rotated.body,
      });
      expect(redelivered.json()).toEqual({ status: 'success', id: rotated.id });
    } finally {
      await fixed.close();
    }
    const again = await replay([]);
    expect(again.stdout).toBe('verified 0, still rejected 2, published 0\n');
    await waitFor('the main queue drained', async () => {
      const broker = await admin();
      try {
        return (await broker.count(topology.queue)) === 0;
      } finally {
        await broker.close();
      }
    });
    expect(await storedCount(rotated.id)).toBe(1);
    expect(await storedCount(forged.id)).toBe(0);
  }, 120_000);

  it("replays a refused delivery in GitHub's default form encoding once the secret is fixed, stored as its JSON", async () => {
    const since = new Date().toISOString();
    const FORM = 'application/x-www-form-urlencoded';
    const formDelivery = async (secret: string) => {
      const id = randomUUID();
      const json = `{"action": "opened", "issue": {"id": 98765432109876543210}, "ref": "${id}"}`;
      const body = new URLSearchParams({ payload: json }).toString();
      return {
        id,
        json,
        body,
        headers: {
          'content-type': FORM,
          'x-github-event': 'issues',
          'x-github-delivery': id,
          'x-hub-signature-256': await signGithub(secret, body),
        },
      };
    };
    const rotated = await formDelivery(SECRETS.new);
    const forged = await formDelivery(SECRETS.forger);
    for (const delivery of [rotated, forged]) {
      const answer = await ingest.app.inject({
        method: 'POST',
        url: '/webhook/github',
        headers: delivery.headers,
        payload: delivery.body,
      });
      expect(answer.statusCode).toBe(401);
    }
    const keptForm = await waitFor('both form-encoded requests stored', async () => {
      const items = (await listRejected(`?from=${encodeURIComponent(since)}`)).items;
      return items.length === 2 && items;
    });
    // Kept as sent: the form bytes and the content type they need to be read again.
    expect(keptForm.find((i) => i.headers['x-github-delivery'] === rotated.id)).toMatchObject({
      reason: 'invalid_signature',
      detail: 'signature_mismatch',
      bodyBase64: Buffer.from(rotated.body).toString('base64'),
      headers: { 'content-type': FORM },
    });

    const replayed = await replay(['--source', 'github', '--since', since]);
    expect(replayed.stdout).toBe('verified 1, still rejected 1, published 1\n');
    await waitFor(
      'the replayed delivery stored',
      async () => (await storedCount(rotated.id)) === 1,
    );
    const { rows } = await database.db.query<{ type: string; stored: string; sent: string }>(
      `SELECT type, data::text AS stored, $2::jsonb::text AS sent
         FROM webhook_events WHERE source = 'github' AND event_id = $1`,
      [rotated.id, rotated.json],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.type).toBe('issues');
    expect(rows[0]?.stored).toContain('98765432109876543210');
    expect(rows[0]?.stored).toBe(rows[0]?.sent);
    expect(await storedCount(forged.id)).toBe(0);
  }, 120_000);
});

describe('the rejected queue under a flood of forged requests', () => {
  let topology: Topology;
  let ingest: IngestHarness;
  const caps = { maxLength: 10, maxBytes: 40_000 };
  let rejectedQueue: RejectedQueue;

  beforeAll(async () => {
    topology = testTopology();
    rejectedQueue = rejectedQueueFor({ queue: topology.queue, ...caps, queueType: 'classic' });
    // No consumer: everything kept waits in the queue, which only its caps bound.
    ingest = await startIngest({
      amqpUrl: inject('amqpUrl'),
      topology,
      env: keeping(rejectedQueue, SECRETS.old),
    });
  });

  afterAll(async () => {
    await ingest?.close();
    const broker = await admin();
    await broker.deleteTopology(topology).catch(() => {});
    await broker.close();
  });

  const flood = async (count: number, bodyBytes: number) => {
    for (let n = 0; n < count; n++) {
      const delivery = await githubDelivery(SECRETS.forger);
      const body = JSON.stringify({ padding: 'x'.repeat(bodyBytes), n });
      const answer = await ingest.app.inject({
        method: 'POST',
        url: '/webhook/github',
        headers: delivery.headers,
        payload: body,
      });
      expect(answer.statusCode).toBe(401);
    }
  };
  const kept = async () =>
    metricValue(
      (await ingest.app.inject({ method: 'GET', url: '/metrics' })).body,
      'rejected_requests_quarantined_total',
      { outcome: 'kept' },
    );
  const depth = async () => {
    const broker = await admin();
    try {
      return await broker.count(rejectedQueue.name);
    } finally {
      await broker.close();
    }
  };

  it('holds at most x-max-length requests, dropping the oldest', async () => {
    await flood(30, 10);
    await waitFor('all 30 confirmed by the broker', async () => (await kept()) === 30);
    expect(await depth()).toBe(caps.maxLength);
  });

  it('holds at most x-max-length-bytes of bodies', async () => {
    await flood(20, 9_000);
    await waitFor('all 20 more confirmed', async () => (await kept()) === 50);
    // Each body is a little over 9000 bytes: four fit in 40000, a fifth does not.
    expect(await depth()).toBe(4);
  });
});
