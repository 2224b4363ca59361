import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EventsRepository } from '@webhooks/db';
import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import { startConsumer, testTopology } from '../../../test/helpers/pipeline.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { removeExpiredEvents } from '../src/retention/remove-expired-events.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

let database: TestDatabase;
let events: EventsRepository;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  events = new EventsRepository(database.db);
});
afterAll(() => database?.drop());
beforeEach(() => database.db.query('TRUNCATE webhook_events CASCADE'));

/** Stores `count` events under `prefix-<i>`, as if stored `ageDays` ago, one second apart. */
async function storeAged(prefix: string, count: number, ageDays: number): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => ({
    eventId: `${prefix}-${i}`,
    source: 'retention-test',
    type: 'thing.happened',
    data: { i },
    timestamp: '2026-01-01T00:00:00Z',
  }));
  await events.insertBatch(rows);
  // Event i is i seconds younger than the first: "oldest first" can be checked.
  await database.db.query(
    `UPDATE webhook_events
     SET created_at = now() - make_interval(days => $2) + make_interval(secs => split_part(event_id, '-', 2)::int)
     WHERE event_id LIKE $1`,
    [`${prefix}-%`, ageDays],
  );
}

async function storedIds(): Promise<string[]> {
  const result = await database.db.query<{ event_id: string }>(
    'SELECT event_id FROM webhook_events ORDER BY created_at',
  );
  return result.rows.map((row) => row.event_id);
}

const ids = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${prefix}-${from + i}`);

describe('removeExpiredEvents on a real PostgreSQL', () => {
  it('removes events older than the retention in several batches, and keeps recent ones', async () => {
    await storeAged('old', 25, 40);
    await storeAged('recent', 5, 29);
    await storeAged('new', 3, 0);

    const result = await removeExpiredEvents({ events, retentionDays: 30, batchSize: 7 });

    expect(result).toMatchObject({ deleted: 25, batches: 4, interrupted: false });
    expect(await storedIds()).toEqual([...ids('recent', 0, 5), ...ids('new', 0, 3)]);
  });

  it('removes the oldest first, and stops between batches when asked to', async () => {
    await storeAged('old', 20, 40);
    const stop = new AbortController();
    const result = await removeExpiredEvents({
      events: {
        deleteCreatedBefore: async (before, limit) => {
          const removed = await events.deleteCreatedBefore(before, limit);
          stop.abort(); // e.g. the consumer shutting down during the first batch
          return removed;
        },
      },
      retentionDays: 30,
      batchSize: 6,
      signal: stop.signal,
    });
    expect(result).toMatchObject({ deleted: 6, batches: 1, interrupted: true });
    expect(await storedIds()).toEqual(ids('old', 6, 20));
  });

  it('with RETENTION_DAYS=0 removes nothing and does not touch the database', async () => {
    await storeAged('old', 4, 400);
    let statements = 0;
    const result = await removeExpiredEvents({
      events: {
        deleteCreatedBefore: (before, limit) => {
          statements += 1;
          return events.deleteCreatedBefore(before, limit);
        },
      },
      retentionDays: 0,
      batchSize: 10,
    });
    expect(result).toEqual({
      deleted: 0,
      batches: 0,
      createdBefore: undefined,
      interrupted: false,
    });
    expect(statements).toBe(0);
    expect(await storedIds()).toHaveLength(4);
  });
});

describe('pnpm retention', () => {
  const retention = (env: Record<string, string>) =>
    run('pnpm', ['--silent', 'retention'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: database.url, RETENTION_BATCH_SIZE: '4', ...env },
      timeout: 60_000,
    });

  it('removes expired events once, in batches, and says how many', async () => {
    await storeAged('old', 10, 31);
    await storeAged('recent', 2, 1);
    const { stdout } = await retention({ RETENTION_DAYS: '30' });
    expect(stdout).toMatch(
      /^removed 10 event\(s\) stored before \S+ in 3 batch\(es\)\nremoved 0 rejected request\(s\) received before \S+\n$/,
    );
    expect(await storedIds()).toEqual(ids('recent', 0, 2));
  });

  it('with RETENTION_DAYS=0 removes nothing', async () => {
    await storeAged('old', 3, 3650);
    const { stdout } = await retention({ RETENTION_DAYS: '0', REJECTED_RETENTION_DAYS: '0' });
    expect(stdout).toBe(
      'RETENTION_DAYS=0 and REJECTED_RETENTION_DAYS=0: retention is disabled, nothing removed\n',
    );
    expect(await storedIds()).toHaveLength(3);
  });

  it('refuses a bad setting, naming it', async () => {
    const failed = await retention({ RETENTION_DAYS: '-1' }).catch((err: unknown) => err);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining('RETENTION_DAYS') });
  });
});

describe('the consumer', () => {
  let topology: Topology;

  beforeAll(() => {
    topology = testTopology();
  });
  afterAll(async () => {
    const admin = await QueueAdmin.connect(inject('amqpUrl'));
    await admin.deleteTopology(topology).catch(() => {});
    await admin.close();
  });

  it('removes expired events soon after start and again periodically, logging how many; stops cleanly', async () => {
    await storeAged('first', 5, 3);
    await storeAged('kept', 2, 0);
    const logs = captureLogs('info');
    const consumer = startConsumer({
      amqpUrl: inject('amqpUrl'),
      databaseUrl: database.url,
      topology,
      logger: logs.logger,
      env: { RETENTION_DAYS: '2', RETENTION_INTERVAL_MS: '200', RETENTION_BATCH_SIZE: '2' },
    });
    try {
      await waitFor('the first run', async () => (await storedIds()).length === 2);
      const removedLines = () => logs.lines.filter((line) => line.msg.startsWith('retention:'));
      await waitFor('its log line', () =>
        removedLines().some((line) => line.deleted === 5 && line.batches === 3),
      );

      await storeAged('second', 4, 3);
      await waitFor('a later run', async () => (await storedIds()).length === 2);
      await waitFor('its log line', () => removedLines().some((line) => line.deleted === 4));
      expect(await storedIds()).toEqual(ids('kept', 0, 2));
    } finally {
      await consumer.stop();
    }
    expect(logs.lines.filter((line) => line.msg === 'shutdown step failed')).toEqual([]);
  });

  it('keeps everything with RETENTION_DAYS=0, and says so', async () => {
    const logs = captureLogs('info');
    const consumer = startConsumer({
      amqpUrl: inject('amqpUrl'),
      databaseUrl: database.url,
      topology,
      logger: logs.logger,
      env: { RETENTION_DAYS: '0', RETENTION_INTERVAL_MS: '50' },
    });
    await consumer.stop();
    expect(logs.lines.map((line) => line.msg)).toContain(
      'retention disabled (RETENTION_DAYS=0): events are kept',
    );
  });
});
