import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { QueueAdmin, Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { IngestHarness } from '../../../test/helpers/pipeline.js';
import {
  failInserts,
  type PipelineFixture,
  startPipeline,
} from '../../../test/helpers/pipeline-fixture.js';
import type { TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { replayDeadLetters } from '../src/dead-letters/dlq-replay.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let fixture: PipelineFixture;
let database: TestDatabase;
let topology: Topology;
let ingest: IngestHarness;
let admin: QueueAdmin;
let poisonRefused: { stop(): Promise<void> };

beforeAll(async () => {
  fixture = await startPipeline({
    // Until the "fix" below, the database refuses these events as data: straight to the DLQ.
    prepareDatabase: async (db) => {
      poisonRefused = await failInserts(db, { eventIdLike: 'poison-%', sqlstate: '22023' });
    },
  });
  ({ database, topology, ingest, admin } = fixture);
});

afterAll(() => fixture?.close());

/** Runs `pnpm dlq:replay`'s script as an operator would, against this file's queues. */
function runReplayCli(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=source',
        'services/consumer/src/bin/dlq-replay.ts',
        ...args,
      ],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          AMQP_URL: inject('amqpUrl'),
          DATABASE_URL: database.url,
          QUEUE_NAME: topology.queue,
          EXCHANGE_NAME: topology.exchange,
        },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const stored = async (eventId: string) =>
  (await database.db.query('SELECT 1 FROM webhook_events WHERE event_id = $1', [eventId])).rowCount;

describe('DLQ replay', () => {
  it('moves dead letters back once their cause is fixed: filtered, limited, dry-run; every event ends stored, only the non-event returns', async () => {
    const events = [
      { source: 'a', type: 'x', id: 'poison-a1' },
      { source: 'a', type: 'y', id: 'poison-a2' },
      { source: 'a', type: 'x', id: 'poison-a3' },
      { source: 'b', type: 'x', id: 'poison-b1' },
      { source: 'b', type: 'x', id: 'fine-b2' },
    ];
    const responses = await Promise.all(events.map((e) => ingest.post(e)));
    expect(responses.every((r) => r.statusCode === 200)).toBe(true);
    await admin.publishRaw(topology.queue, Buffer.from('garbage that is not an event'));
    await waitFor(
      'five dead letters',
      async () => (await admin.count(topology.deadLetterQueue)) === 5,
    );
    expect(await stored('fine-b2')).toBe(1);

    // The fix: the database accepts these rows now.
    await poisonRefused.stop();

    const dry = await replayDeadLetters({ admin, topology, source: 'b', dryRun: true });
    expect(dry).toEqual({ moved: 0, matched: 1, skipped: 4, left: 5, marked: 0 });

    const onlyB = await replayDeadLetters({ admin, topology, source: 'b' });
    expect(onlyB).toMatchObject({ moved: 1, left: 4 });
    await waitFor('poison-b1 stored', async () => (await stored('poison-b1')) === 1);

    const typeY = await replayDeadLetters({ admin, topology, source: 'a', type: 'y' });
    expect(typeY).toMatchObject({ moved: 1, left: 3 });
    await waitFor('poison-a2 stored', async () => (await stored('poison-a2')) === 1);

    const limited = await runReplayCli(['--source', 'a', '--limit', '1']);
    expect(limited.code).toBe(0);
    expect(limited.stdout.trim()).toMatch(/moved 1, skipped \d+, left 2$/);

    const rest = await runReplayCli([]);
    expect(rest.code).toBe(0);
    // `left` is a snapshot: the garbage message may already be back in the DLQ.
    expect(rest.stdout.trim()).toMatch(/moved 2, skipped 0, left [01]$/);

    await waitFor('every poison event stored', async () => {
      const result = await database.db.query(
        "SELECT event_id FROM webhook_events WHERE event_id LIKE 'poison-%' ORDER BY event_id",
      );
      return result.rowCount === 4 ? result.rows : undefined;
    });
    // The garbage message was replayed too and, still not an event, is dead-lettered again.
    await waitFor('only the garbage back in the DLQ', async () => {
      const [only, ...others] = await admin.peek(topology.deadLetterQueue, 10);
      return others.length === 0 && only?.body.toString() === 'garbage that is not an event'
        ? only
        : undefined;
    });
    // The command marked what it moved in the dead_letters table, as the console's replay does:
    // the events it replayed show as stored, the garbage as dead-lettered again after a replay.
    const recorded = await database.db.query<{
      event: string;
      replay_count: number;
      dead_letter_count: number;
    }>(
      `SELECT coalesce(source || '/' || event_id, 'garbage') AS event, replay_count,
         dead_letter_count
       FROM dead_letters ORDER BY event`,
    );
    expect(recorded.rows).toEqual([
      { event: 'a/poison-a1', replay_count: 1, dead_letter_count: 1 },
      // Replayed by the library call above, which was given no table to mark.
      { event: 'a/poison-a2', replay_count: 0, dead_letter_count: 1 },
      { event: 'a/poison-a3', replay_count: 1, dead_letter_count: 1 },
      { event: 'b/poison-b1', replay_count: 0, dead_letter_count: 1 },
      { event: 'garbage', replay_count: 1, dead_letter_count: 2 },
    ]);
    const [garbage] = await admin.peek(topology.deadLetterQueue, 1);
    expect(garbage?.headers).toMatchObject({
      'x-replay-count': 1,
      'x-attempts': 1,
      'x-death-reason': 'invalid_message',
    });
  });

  it('the command refuses bad arguments with its usage and exit code 1', async () => {
    const bad = await runReplayCli(['--limit', 'lots']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--limit');
    expect(bad.stderr).toContain('Usage: pnpm dlq:replay');
  });
});
