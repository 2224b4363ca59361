import { randomUUID } from 'node:crypto';
import { RejectedRequestsRepository } from '@webhooks/db';
import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import { startConsumer, testTopology } from '../../../test/helpers/pipeline.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerService } from '../src/consumer-service.js';
import { removeRejectedRequests } from '../src/retention/remove-kept-rows.js';

const DAY_MS = 86_400_000;

let database: TestDatabase;
let topology: Topology;
let consumer: ConsumerService | undefined;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology();
});

afterAll(async () => {
  await consumer?.stop();
  const admin = await QueueAdmin.connect(inject('amqpUrl'));
  await admin.deleteTopology(topology).catch(() => {});
  await admin.close();
  await database?.drop();
});

describe('retention of kept rejected requests', () => {
  it('removes those received more than REJECTED_RETENTION_DAYS ago, on its own schedule', async () => {
    const repository = new RejectedRequestsRepository(database.db);
    const keep = async (ageDays: number) => {
      const id = randomUUID();
      await repository.insert({
        id,
        source: 'github',
        reason: 'invalid_signature',
        receivedAt: new Date(Date.now() - ageDays * DAY_MS).toISOString(),
        headers: { 'x-github-event': 'push' },
        body: Buffer.from('{}'),
      });
      return id;
    };
    const old = [await keep(9), await keep(8)];
    const recent = [await keep(6), await keep(0)];
    const logs = captureLogs();
    consumer = startConsumer({
      amqpUrl: inject('amqpUrl'),
      databaseUrl: database.url,
      topology,
      logger: logs.logger,
      // Events are kept for ever here: the two retentions are independent.
      env: { RETENTION_DAYS: '0', REJECTED_RETENTION_DAYS: '7', RETENTION_INTERVAL_MS: '200' },
    });
    try {
      const line = await waitFor('a rejected-requests retention run', () =>
        logs.lines.find((l) => l.msg === 'retention: removed 2 rejected request(s)'),
      );
      expect(line.deleted).toBe(2);
      const left = await repository.find({ limit: 10 });
      expect(left.items.map((item) => item.id).sort()).toEqual([...recent].sort());
      expect(left.items.map((item) => item.id)).not.toContain(old[0]);
    } finally {
      // Its retention runs every 200 ms: left running, it would remove the old rows the tests
      // below insert on purpose.
      await consumer.stop();
      consumer = undefined;
    }
  });
});

describe('the row cap of kept rejected requests', () => {
  it('removes the oldest beyond REJECTED_MAX_ROWS whatever their age, in batches', async () => {
    const repository = new RejectedRequestsRepository(database.db);
    await database.db.query('TRUNCATE rejected_requests');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = randomUUID();
      ids.push(id);
      await repository.insert({
        id,
        source: 'github',
        reason: 'unknown_source',
        receivedAt: new Date(Date.now() - (7 - i) * 1000).toISOString(),
        headers: {},
        body: Buffer.from('{}'),
      });
    }
    const result = await removeRejectedRequests({
      rejected: repository,
      retentionDays: 0,
      maxRows: 3,
      batchSize: 2,
    });
    expect(result).toMatchObject({ deleted: 4, batches: 3, interrupted: false });
    const left = await repository.find({ limit: 10 });
    expect(left.items.map((item) => item.id).sort()).toEqual(ids.slice(4).sort());
  });
});

describe('kept rejected requests in daily partitions', () => {
  it('one received on a day without a partition is kept (its day made on demand); its redelivery inserts nothing', async () => {
    const repository = new RejectedRequestsRepository(database.db);
    const row = {
      id: randomUUID(),
      source: 'github',
      reason: 'invalid_signature',
      receivedAt: new Date(Date.now() - 100 * DAY_MS).toISOString(),
      headers: {},
      body: Buffer.from('{}'),
    };
    const before = await repository.partitions();
    expect(await repository.insert(row)).toBe(true);
    expect(await repository.insert(row)).toBe(false);
    const after = await repository.partitions();
    expect(after.length).toBeGreaterThan(before.length);
    const where = await database.db.query<{ p: string }>(
      'SELECT tableoid::regclass::text AS p FROM rejected_requests WHERE id = $1',
      [row.id],
    );
    expect(where.rows).toHaveLength(1);
    expect(where.rows[0]?.p).toMatch(/^rejected_requests_p\d{8}$/);
    expect((await repository.findById(row.id))?.receivedAt).toBe(
      row.receivedAt.replace('Z', '000Z'),
    );
  });
});
