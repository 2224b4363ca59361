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

// The same pipeline with QUEUE_TYPE=quorum (what a cluster runs): retries go through quorum
// retry queues whose dead-lettering is at-least-once, and end in a quorum DLQ.
let database: TestDatabase;
let topology: Topology;
let ingest: IngestHarness;
let admin: QueueAdmin;

let fixture: PipelineFixture;

beforeAll(async () => {
  fixture = await startPipeline({
    topology: { queueType: 'quorum', retryDelaysMs: [200, 400] },
    prepareDatabase: (db) => failInserts(db, { eventIdLike: 'flaky-%', sqlstate: '40P01' }),
  });
  ({ database, topology, ingest, admin } = fixture);
});

afterAll(() => fixture?.close());

describe('with quorum queues', () => {
  it('stores good events and retries a transient failure through the quorum retry queues into the DLQ', async () => {
    const ids = ['q-1', 'flaky-q', 'q-2'];
    const responses = await Promise.all(
      ids.map((id) => ingest.post({ source: 'quorum', type: 'test', id })),
    );
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 200]);

    const [dead] = await waitFor('the dead letter', async () => {
      const messages = await admin.peek(topology.deadLetterQueue, 10);
      return messages.length > 0 ? messages : undefined;
    });
    expect(dead?.properties.messageId).toBe('flaky-q');
    expect(dead?.headers).toMatchObject({
      'x-death-reason': 'retries_exhausted',
      'x-attempts': 3,
      'x-last-error': expect.stringContaining('40P01'),
    });
    const rows = await database.db.query<{ event_id: string }>(
      'SELECT event_id FROM webhook_events ORDER BY event_id',
    );
    expect(rows.rows.map((r) => r.event_id)).toEqual(['q-1', 'q-2']);
  });
});
