import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DeadLettersRepository, EventsRepository } from '@webhooks/db';
import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import { startConsumer, testTopology } from '../../../test/helpers/pipeline.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import {
  PARTITION_DAYS_AHEAD,
  removeExpiredEvents,
} from '../src/retention/remove-expired-events.js';
import { removeEventsAndResolvedDeadLetters } from '../src/retention/remove-kept-rows.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

const DAY_MS = 86_400_000;

let database: TestDatabase;
let events: EventsRepository;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  events = new EventsRepository(database.db);
});
afterAll(() => database?.drop());
beforeEach(() =>
  database.db.query('TRUNCATE webhook_events, webhook_event_keys, dead_letters CASCADE'),
);

/**
 * Stores `count` events under `prefix-<i>`, stored at noon UTC of the day `ageDays` ago, event
 * i one second after the first (all in that day's partition, made on demand, whatever the
 * time the test runs at).
 */
async function storeAged(prefix: string, count: number, ageDays: number): Promise<void> {
  const first = Math.floor((Date.now() - ageDays * DAY_MS) / DAY_MS) * DAY_MS + DAY_MS / 2;
  for (let i = 0; i < count; i++) {
    const aged = new EventsRepository(database.db, { storedAt: () => new Date(first + i * 1000) });
    await aged.insertBatch([
      {
        eventId: `${prefix}-${i}`,
        source: 'retention-test',
        type: 'thing.happened',
        data: { i },
        timestamp: '2026-01-01T00:00:00Z',
      },
    ]);
  }
}

async function storedIds(): Promise<string[]> {
  const result = await database.db.query<{ event_id: string }>(
    'SELECT event_id FROM webhook_events ORDER BY created_at',
  );
  return result.rows.map((row) => row.event_id);
}

async function keyCount(): Promise<number> {
  const result = await database.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM webhook_event_keys',
  );
  return result.rows[0]?.n ?? -1;
}

const ids = (prefix: string, from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${prefix}-${from + i}`);

describe('removeExpiredEvents on a real PostgreSQL', () => {
  it('drops whole partitions past the retention with their deliveries, clears their keys in batches, keeps the rest', async () => {
    await database.db.query(
      `INSERT INTO subscriptions (name, url, secret, retry_delays_ms, timeout_ms, max_in_flight)
       VALUES ('all', 'http://127.0.0.1:1/', 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0', '{1000}', 1000, 1)
       ON CONFLICT (name) DO NOTHING`,
    );
    await storeAged('old', 25, 40);
    await storeAged('recent', 5, 29);
    await storeAged('new', 3, 0);
    const before = await events.partitions();
    const cutoff = Date.now() - 30 * DAY_MS;
    const expired = before.filter((p) => p.to !== null && p.to.getTime() <= cutoff);
    expect(expired.length).toBeGreaterThan(0);

    const result = await removeExpiredEvents({ events, retentionDays: 30, batchSize: 7 });

    expect(result).toMatchObject({ deleted: 25, batches: 4, interrupted: false });
    expect(result.partitionsDropped).toBe(expired.length);
    expect(await storedIds()).toEqual([...ids('recent', 0, 5), ...ids('new', 0, 3)]);
    expect(await keyCount()).toBe(8);
    const deliveries = await database.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM deliveries',
    );
    expect(deliveries.rows[0]?.n).toBe(8);
    // The dropped days' tables are gone: nothing was deleted row by row from a partition.
    for (const partition of expired) {
      const left = await database.db.query('SELECT to_regclass($1) AS t', [partition.name]);
      expect(left.rows[0]?.t).toBeNull();
    }
    const dead = await database.db.query<{ n: string }>(
      `SELECT coalesce(sum(n_dead_tup), 0)::text AS n FROM pg_stat_user_tables
       WHERE relid IN (SELECT partition FROM partition_bounds('webhook_events'))`,
    );
    expect(dead.rows[0]?.n).toBe('0');

    // An id whose event retention removed is stored again when it arrives again; one still
    // kept is not.
    const again = await events.insertBatch(
      ['old-0', 'recent-0'].map((eventId) => ({
        eventId,
        source: 'retention-test',
        type: 'thing.happened',
        data: {},
        timestamp: '2026-01-01T00:00:00Z',
      })),
    );
    expect(again.stored.map((key) => key.eventId)).toEqual(['old-0']);
    await database.db.query('DELETE FROM subscriptions');
  });

  it('decides by bounds, not names: a partition attached by hand goes when its upper bound has passed, one spanning the cut-off stays', async () => {
    const day = (ago: number) => {
      const at = new Date(Date.now() - ago * DAY_MS);
      return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
    };
    await database.db.query('CREATE TABLE archive_by_hand (LIKE webhook_events)');
    await database.db.query(
      `ALTER TABLE webhook_events ATTACH PARTITION archive_by_hand FOR VALUES FROM ($1) TO ($2)`
        .replace('$1', `'${day(62).toISOString()}'`)
        .replace('$2', `'${day(58).toISOString()}'`),
    );
    await database.db.query('CREATE TABLE spanning_by_hand (LIKE webhook_events)');
    await database.db.query(
      `ALTER TABLE webhook_events ATTACH PARTITION spanning_by_hand FOR VALUES FROM ($1) TO ($2)`
        .replace('$1', `'${day(52).toISOString()}'`)
        .replace('$2', `'${day(48).toISOString()}'`),
    );
    await storeAged('archived', 3, 60);
    await storeAged('spanning', 2, 51);
    await storeAged('young', 2, 49);
    const where = await database.db.query<{ event_id: string; p: string }>(
      'SELECT event_id, tableoid::regclass::text AS p FROM webhook_events ORDER BY event_id',
    );
    expect(new Set(where.rows.map((r) => r.p))).toEqual(
      new Set(['archive_by_hand', 'spanning_by_hand']),
    );

    const result = await removeExpiredEvents({ events, retentionDays: 50, batchSize: 100 });

    expect(await storedIds()).toEqual([...ids('spanning', 0, 2), ...ids('young', 0, 2)]);
    const gone = await database.db.query("SELECT to_regclass('archive_by_hand') AS t");
    expect(gone.rows[0]?.t).toBeNull();
    // Keys go only for events no partition could hold: the spanning partition keeps its own,
    // even those of events older than the cut-off.
    expect(result.deleted).toBe(3);
    expect(await keyCount()).toBe(4);
  });

  it('stops between steps when asked to, and the next run finishes', async () => {
    // Partitions an earlier test left past the cut-off go first.
    await removeExpiredEvents({ events, retentionDays: 30, batchSize: 100 });
    await storeAged('old', 20, 40);
    const stop = new AbortController();
    const result = await removeExpiredEvents({
      events: {
        partitions: () => events.partitions(),
        createPartitions: (from, days) => events.createPartitions(from, days),
        vacuumClosedPartitions: () => events.vacuumClosedPartitions(),
        completePartitionIndexes: () => events.completePartitionIndexes(),
        deleteKeysBefore: (before, limit) => events.deleteKeysBefore(before, limit),
        dropPartition: async (partition, batchSize) => {
          const removed = await events.dropPartition(partition, batchSize);
          stop.abort(); // e.g. the consumer shutting down during the first drop
          return removed;
        },
      },
      retentionDays: 30,
      batchSize: 6,
      signal: stop.signal,
    });
    expect(result).toMatchObject({ deleted: 0, batches: 0, interrupted: true });
    expect(await storedIds()).toEqual([]);
    expect(await keyCount()).toBe(20);
    const next = await removeExpiredEvents({ events, retentionDays: 30, batchSize: 6 });
    expect(next).toMatchObject({ deleted: 20, batches: 4, interrupted: false });
    expect(await keyCount()).toBe(0);
  });

  it('two runs at once (two consumers) both end, and drop each partition once', async () => {
    await removeExpiredEvents({ events, retentionDays: 30, batchSize: 100 });
    for (const age of [40, 41, 42, 43]) await storeAged(`day${age}`, 3, age);
    const cutoff = Date.now() - 30 * DAY_MS;
    const expired = (await events.partitions()).filter(
      (p) => p.to !== null && p.to.getTime() <= cutoff,
    );
    const runs = await Promise.all([
      removeExpiredEvents({ events, retentionDays: 30, batchSize: 2 }),
      removeExpiredEvents({
        events: new EventsRepository(database.db),
        retentionDays: 30,
        batchSize: 2,
      }),
    ]);
    expect(runs.every((run) => run.interrupted === false)).toBe(true);
    expect(await storedIds()).toEqual([]);
    // Each partition dropped by one of the two.
    expect((runs[0].partitionsDropped ?? 0) + (runs[1].partitionsDropped ?? 0)).toBe(
      expired.length,
    );
    // Keys of a day one run was still dropping when the other listed may wait for a next run.
    const next = await removeExpiredEvents({ events, retentionDays: 30, batchSize: 2 });
    expect(runs[0].deleted + runs[1].deleted + next.deleted).toBe(12);
    expect(await keyCount()).toBe(0);
  });

  it('with RETENTION_DAYS=0 removes nothing, and still makes the partitions ahead', async () => {
    await storeAged('old', 4, 400);
    const result = await removeExpiredEvents({
      events,
      retentionDays: 0,
      batchSize: 10,
      now: () => new Date(Date.now() + 20 * DAY_MS),
    });
    expect(result).toMatchObject({
      deleted: 0,
      batches: 0,
      createdBefore: undefined,
      interrupted: false,
      partitionsDropped: 0,
      partitionsMade: PARTITION_DAYS_AHEAD + 1,
    });
    expect(await storedIds()).toHaveLength(4);
  });
});

describe('dead-letter records under retention', () => {
  const record = async (key: string, ageDays: number, replayed: boolean) => {
    const at = new Date(Date.now() - ageDays * DAY_MS);
    await database.db.query(
      `INSERT INTO dead_letters (message_key, event_id, source, type, reason, last_error,
         attempts, first_failed_at, dead_lettered_at, body, replayed_at)
       VALUES ($1::text, $1::text, 'retention-test', 'thing.happened', 'retries_exhausted', 'x', 4, $2, $2,
         '\\x7b7d', $3)`,
      [key, at, replayed ? new Date(at.getTime() + 1000) : null],
    );
  };
  const left = async () =>
    (
      await database.db.query<{ message_key: string }>(
        'SELECT message_key FROM dead_letters ORDER BY message_key',
      )
    ).rows.map((r) => r.message_key);

  it('leave only once replayed and stored, never while their message waits in the queue', async () => {
    await record('resolved-0', 40, true);
    await record('waiting-0', 40, false); // its event got stored another way, message still waits
    await record('replayed-not-stored-0', 40, true);
    await record('recent-0', 1, true);
    await storeAged('resolved', 1, 0);
    await storeAged('waiting', 1, 0);
    await storeAged('recent', 1, 0);
    const run = await removeEventsAndResolvedDeadLetters({
      events,
      deadLetters: new DeadLettersRepository(database.db),
      retentionDays: 30,
      batchSize: 10,
    });
    expect(run.deadLetters).toBe(1);
    expect(await left()).toEqual(['recent-0', 'replayed-not-stored-0', 'waiting-0']);
  });
});

describe('pnpm retention', () => {
  const retention = (env: Record<string, string>) =>
    run('pnpm', ['--silent', 'retention'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: database.url, RETENTION_BATCH_SIZE: '4', ...env },
      timeout: 60_000,
    });

  it('drops expired partitions once, clears their keys in batches, and says how many', async () => {
    await storeAged('old', 10, 31);
    await storeAged('recent', 2, 1);
    const { stdout } = await retention({ RETENTION_DAYS: '30' });
    expect(stdout).toMatch(
      /^made \d+ partition\(s\) of events for the days ahead\ndropped [1-9]\d* partition\(s\) of events stored before \S+, cleared 10 event key\(s\) in 3 batch\(es\), removed 0 resolved dead letter\(s\)\nremoved 0 rejected request\(s\) received before \S+ or beyond the newest 100000\n$/,
    );
    expect(await storedIds()).toEqual(ids('recent', 0, 2));
  });

  it('with RETENTION_DAYS=0 removes no event', async () => {
    await storeAged('old', 3, 3650);
    const { stdout } = await retention({ RETENTION_DAYS: '0', REJECTED_RETENTION_DAYS: '0' });
    expect(stdout).toMatch(
      /^made \d+ partition\(s\) of events for the days ahead\nRETENTION_DAYS=0: events are kept\nremoved 0 rejected request\(s\) beyond the newest 100000\n$/,
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

  it('keeps the partitions of the days ahead, even with RETENTION_DAYS=0', async () => {
    const inThreeDays = new Date(
      Math.floor(Date.now() / 86_400_000) * 86_400_000 + PARTITION_DAYS_AHEAD * 86_400_000,
    );
    const ahead = async () =>
      (await events.partitions()).find(
        (p) => p.from !== null && p.to !== null && p.from <= inThreeDays && inThreeDays < p.to,
      );
    const made = await ahead();
    if (made !== undefined) await events.dropPartition(made, 100);
    expect(await ahead()).toBeUndefined();
    const logs = captureLogs('info');
    const consumer = startConsumer({
      amqpUrl: inject('amqpUrl'),
      databaseUrl: database.url,
      topology,
      logger: logs.logger,
      env: { RETENTION_DAYS: '0', RETENTION_INTERVAL_MS: '200' },
    });
    try {
      await waitFor('the partition three days ahead', ahead);
      await waitFor('the run that made it, logged', () =>
        logs.lines.some((line) => line.msg.startsWith('retention:') && line.partitionsMade === 1),
      );
    } finally {
      await consumer.stop();
    }
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
