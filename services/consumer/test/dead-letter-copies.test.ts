import { DeadLettersRepository } from '@webhooks/db';
import type { QueueAdmin, Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestHarness } from '../../../test/helpers/pipeline.js';
import {
  failInserts,
  type PipelineFixture,
  startPipeline,
} from '../../../test/helpers/pipeline-fixture.js';
import type { TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerService } from '../src/consumer-service.js';
import { identifyDeadLetter } from '../src/dead-letters/dead-letter-key.js';

// Every message in the dead-letter queue must be reachable through the ops API (and so the
// console): messages with equal bodies must not hide behind one another, and a replay of a
// record moves every copy of it that waits in the queue.

const TOKEN = 'dead-letter-copies-token-0123';
let fixture: PipelineFixture;
let database: TestDatabase;
let topology: Topology;
let ingest: IngestHarness;
let consumer: ConsumerService;
let admin: QueueAdmin;
let refused: { stop(): Promise<void> };

beforeAll(async () => {
  fixture = await startPipeline({
    topology: { queueType: 'quorum' },
    consumerEnv: { OPS_TOKEN: TOKEN },
    prepareDatabase: async (db) => {
      refused = await failInserts(db, { eventIdLike: 'copied-%', sqlstate: '22023' });
    },
  });
  ({ database, topology, ingest, consumer, admin } = fixture);
});

afterAll(() => fixture?.close());

const call = (method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>) =>
  consumer.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${TOKEN}` },
    ...(payload === undefined ? {} : { payload }),
  });

interface Letter {
  id: string;
  eventId: string | null;
  source: string | null;
  reason: string;
  status: string;
  deadLetterCount: number;
  replayCount: number;
}

async function letters(query: string): Promise<Letter[]> {
  const res = await call('GET', `/dead-letters?limit=500&${query}`);
  expect(res.statusCode).toBe(200);
  return res.json().items;
}

const replay = async (selection: Record<string, unknown>) =>
  (await call('POST', '/dead-letters/replay', selection)).json();

const waiting = () => admin.count(topology.deadLetterQueue);

/** Resolves once `n` dead-letterings of the letters `query` finds are recorded. */
const recorded = (query: string, n: number) =>
  waitFor(`${n} dead-letterings recorded (${query})`, async () => {
    const found = await letters(query);
    return found.reduce((sum, l) => sum + l.deadLetterCount, 0) === n ? found : undefined;
  });

describe('dead letters with equal bodies, or several copies in the queue', () => {
  it('two equal bodies with different message ids are two records, each found and replayed by its own id', async () => {
    const before = await waiting();
    const body = Buffer.from('not json');
    await admin.publishRaw(topology.queue, body, { messageId: 'twin-1' });
    await admin.publishRaw(topology.queue, body, { messageId: 'twin-2' });
    await waitFor('both in the DLQ', async () => (await waiting()) === before + 2);
    const found = await recorded('reason=invalid_message', 2);

    expect(found.map((l) => [l.eventId, l.deadLetterCount]).sort()).toEqual([
      ['twin-1', 1],
      ['twin-2', 1],
    ]);
    const [first] = await letters('eventId=twin-1');
    expect(first).toMatchObject({ eventId: 'twin-1', reason: 'invalid_message', status: 'dead' });
    expect(await replay({ reason: 'invalid_message', dryRun: true })).toEqual({
      matched: 2,
      moved: 0,
    });

    // By id: only that message moves; still not JSON, it comes straight back.
    expect(await replay({ ids: [first?.id] })).toEqual({ matched: 1, moved: 1 });
    await recorded('eventId=twin-1', 2);
    const [twin2] = await letters('eventId=twin-2');
    expect(twin2).toMatchObject({ deadLetterCount: 1, replayCount: 0 });

    // By filter: both move, and both are back in the queue under their own records.
    expect(await replay({ reason: 'invalid_message' })).toEqual({ matched: 2, moved: 2 });
    await recorded('reason=invalid_message', 5);
    await waitFor('both back in the DLQ', async () => (await waiting()) === before + 2);
    expect((await letters('reason=invalid_message')).map((l) => l.replayCount).sort()).toEqual([
      1, 2,
    ]);
  });

  it('two equal bodies without any message id are two records, each named by the id its DLQ copy got', async () => {
    const before = await waiting();
    const body = Buffer.from('{"neither":"source nor id"}');
    await admin.publishRaw(topology.queue, body);
    await admin.publishRaw(topology.queue, body);
    await waitFor('both in the DLQ', async () => (await waiting()) === before + 2);
    const nameless = async () =>
      (await letters('reason=invalid_message')).filter((l) => !l.eventId?.startsWith('twin-'));
    const found = await waitFor('both recorded', async () => {
      const rows = await nameless();
      return rows.reduce((sum, l) => sum + l.deadLetterCount, 0) === 2 ? rows : undefined;
    });
    expect(found.length).toBe(2);
    const ids = found.map((l) => l.eventId).sort();
    // The consumer gave each DLQ copy a message id; each record shows the one of its copy.
    const copies = (await admin.peek(topology.deadLetterQueue, 100)).filter((m) =>
      m.body.equals(body),
    );
    expect(copies.map((m) => m.properties.messageId).sort()).toEqual(ids);

    const [one, other] = found;
    expect(await replay({ ids: [one?.id] })).toEqual({ matched: 1, moved: 1 });
    await waitFor('that one dead-lettered again, on its own record', async () => {
      const rows = await nameless();
      const again = rows.find((l) => l.id === one?.id);
      return rows.length === 2 && again?.deadLetterCount === 2 && again.replayCount === 1;
    });
    const [untouched] = (await nameless()).filter((l) => l.id === other?.id);
    expect(untouched).toMatchObject({ deadLetterCount: 1, replayCount: 0, status: 'dead' });
    await waitFor('both back in the DLQ', async () => (await waiting()) === before + 2);
  });

  it('a record keyed by its body digest moves every message with those bytes: two without any id, one with an id', async () => {
    const before = await waiting();
    const body = Buffer.from('digest-keyed, no event');
    // In the DLQ without passing the consumer (as the broker dead-letters a message that
    // expired), and a record keyed by the body's digest: the key of a message with neither
    // event nor id, and of every non-event recorded before non-events were keyed by id.
    await admin.publishRaw(topology.deadLetterQueue, body);
    await admin.publishRaw(topology.deadLetterQueue, body);
    await admin.publishRaw(topology.deadLetterQueue, body, { messageId: 'given-by-publisher' });
    const at = new Date().toISOString();
    const recordId = await new DeadLettersRepository(database.db).record({
      ...identifyDeadLetter(body, undefined),
      reason: 'invalid_message',
      lastError: 'not JSON',
      attempts: 1,
      firstFailedAt: at,
      deadLetteredAt: at,
      body,
      requestId: undefined,
    });

    expect(await replay({ ids: [recordId], dryRun: true })).toEqual({ matched: 1, moved: 0 });
    expect(await replay({ ids: [recordId] })).toEqual({ matched: 1, moved: 3 });
    // All three went through the main queue, and are dead-lettered again by the consumer.
    await waitFor('all three back in the DLQ', async () => (await waiting()) === before + 3);
    const [record] = (await letters('reason=invalid_message')).filter((l) => l.id === recordId);
    expect(record).toMatchObject({ replayCount: 1 });
  });

  it('two copies of one event in the DLQ: one record, and its replay moves both copies', async () => {
    const before = await waiting();
    const event = { source: 'copies', type: 'order.paid', id: 'copied-1', data: { n: 1 } };
    // The same event twice (a sender's retry, or a redelivery after a crash between the DLQ
    // copy and the ack): the database refuses it both times.
    expect((await ingest.post(event)).statusCode).toBe(200);
    expect((await ingest.post(event)).statusCode).toBe(200);
    await waitFor('both copies in the DLQ', async () => (await waiting()) === before + 2);
    const [letter] = await recorded('source=copies', 2);
    expect(letter).toMatchObject({ eventId: 'copied-1', status: 'dead', deadLetterCount: 2 });

    await refused.stop();
    expect(await replay({ source: 'copies', dryRun: true })).toEqual({ matched: 1, moved: 0 });
    expect(await replay({ source: 'copies' })).toEqual({ matched: 1, moved: 2 });
    await waitFor('stored once, shown as stored', async () => {
      const [row] = await letters('source=copies');
      return row?.status === 'stored';
    });
    const stored = await database.db.query(
      "SELECT 1 FROM webhook_events WHERE source = 'copies' AND event_id = 'copied-1'",
    );
    expect(stored.rowCount).toBe(1);
    // No copy of it is left behind in the DLQ.
    expect(await waiting()).toBe(before);
  });
});
