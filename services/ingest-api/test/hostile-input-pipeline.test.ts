import { QueueAdmin, type Topology } from '@webhooks/queue';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  hostileString,
  type Json,
  jsonObject,
  ordinaryString,
} from '../../../test/helpers/hostile-json.js';
import {
  type IngestHarness,
  startConsumer,
  startIngest,
  testTopology,
} from '../../../test/helpers/pipeline.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConsumerService } from '../../consumer/src/consumer-service.js';

// Every generated request gets a 4xx, or a 200 whose event ends up stored, as sent, through
// the real broker and consumer: nothing accepted is refused by PostgreSQL afterwards.

let database: TestDatabase;
let topology: Topology;
let ingest: IngestHarness;
let consumer: ConsumerService;
let admin: QueueAdmin;

beforeAll(async () => {
  const amqpUrl = inject('amqpUrl');
  database = await createTestDatabase(inject('databaseUrl'));
  topology = testTopology();
  ingest = await startIngest({
    amqpUrl,
    topology,
    env: { WEBHOOK_SOURCES: '{"plain":{"scheme":"none"}}' },
  });
  consumer = startConsumer({ amqpUrl, databaseUrl: database.url, topology });
  admin = await QueueAdmin.connect(amqpUrl);
});

afterAll(async () => {
  await ingest?.close();
  await consumer?.stop();
  await admin?.deleteTopology(topology).catch(() => {});
  await admin?.close();
  await database?.drop();
});

/** Mostly ordinary content, now and then a NUL or an unpaired surrogate somewhere. */
function eventFields(string: fc.Arbitrary<string>) {
  return fc.record({
    source: string.filter((s) => s.length > 0),
    type: string.filter((s) => s.length > 0),
    id: string,
    data: jsonObject({ maxDepth: 4, string }),
  });
}
const fields = fc.oneof(
  { weight: 4, arbitrary: eventFields(ordinaryString()) },
  { weight: 1, arbitrary: eventFields(hostileString()) },
);

interface Sent {
  url: string;
  body: Record<string, Json>;
  /** The row the event must be stored as, if accepted. */
  row: { source: string; type: string; event_id: string; data: unknown };
}

/** Sample `i` as a body of `POST /webhook` or, one time in three, of `POST /webhook/plain`. */
function toRequest(
  sample: { source: string; type: string; id: string; data: { [key: string]: Json } },
  i: number,
): Sent {
  // The index keeps every (source, id) distinct, so each accepted event is one row.
  const id = `${i}:${sample.id}`;
  if (i % 3 === 2) {
    const body = { ...sample.data, type: sample.type, id };
    const row = { source: 'plain', type: sample.type.trim(), event_id: id, data: body };
    return { url: '/webhook/plain', body, row: { ...row, data: JSON.parse(JSON.stringify(body)) } };
  }
  const body = { source: sample.source, type: sample.type, id, data: sample.data };
  return {
    url: '/webhook',
    body,
    row: {
      source: sample.source.trim(),
      type: sample.type.trim(),
      event_id: id,
      data: JSON.parse(JSON.stringify(sample.data)),
    },
  };
}

describe('generated events through the whole pipeline', () => {
  it('each is refused with a 4xx, or answered 200 and stored as sent', async () => {
    const seed = Date.now() % 2 ** 31;
    const samples = fc.sample(fields, { numRuns: 50, seed }).map(toRequest);

    const answers = await Promise.all(
      samples.map((sent) =>
        ingest.app.inject({
          method: 'POST',
          url: sent.url,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify(sent.body),
        }),
      ),
    );
    const context = `fast-check seed ${seed}`;
    for (const res of answers) {
      expect([200, 400], `${context}: ${res.body}`).toContain(res.statusCode);
    }
    const accepted = samples.filter((_, i) => answers[i]?.statusCode === 200);
    expect(accepted.length, context).toBeGreaterThan(20);
    for (const [i, sent] of samples.entries()) {
      if (answers[i]?.statusCode === 200) expect(answers[i]?.json().id).toBe(sent.row.event_id);
    }

    const count = async () => {
      const result = await database.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM webhook_events',
      );
      return result.rows[0]?.n ?? 0;
    };
    await waitFor(
      'every accepted event to be stored',
      async () => ((await count()) === accepted.length ? true : undefined),
      { timeoutMs: 20_000 },
    );

    for (const sent of accepted) {
      const stored = await database.db.query(
        'SELECT source, type, event_id, data FROM webhook_events WHERE source = $1 AND event_id = $2',
        [sent.row.source, sent.row.event_id],
      );
      expect(stored.rows, `${context}: ${JSON.stringify(sent.body)}`).toEqual([sent.row]);
    }
    // Nothing accepted was refused by the consumer or the database.
    expect(await admin.count(topology.deadLetterQueue), context).toBe(0);
    expect(await count(), context).toBe(accepted.length);
  });
});
