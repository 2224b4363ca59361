import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PipelineFixture, startPipeline } from '../../../test/helpers/pipeline-fixture.js';
import { waitFor } from '../../../test/helpers/wait-for.js';

// A message with only the event's own fields, as an engineer would publish it from the
// Management UI or an older producer would, is stored rather than dead-lettered.

let fixture: PipelineFixture;

beforeAll(async () => {
  fixture = await startPipeline();
});
afterAll(() => fixture?.close());

function storedRow(source: string, eventId: string) {
  return waitFor(`the row ${source}/${eventId}`, async () => {
    const result = await fixture.database.db.query<{ type: string; data: string; ts: Date }>(
      `SELECT type, data::text AS data, "timestamp" AS ts
       FROM webhook_events WHERE source = $1 AND event_id = $2`,
      [source, eventId],
    );
    return result.rows[0];
  });
}

function publishByHand(body: string, properties: { timestamp?: number } = {}) {
  return fixture.admin.publishRaw(fixture.topology.queue, Buffer.from(body), properties);
}

describe('messages other producers publish', () => {
  it('id, source, type and data only: stored, timestamped at consumption', async () => {
    const before = Date.now();
    await publishByHand('{"id":"byhand1","source":"byhand","type":"r","data":{"n":1}}');
    const row = await storedRow('byhand', 'byhand1');
    expect(row.type).toBe('r');
    expect(row.data).toBe('{"n": 1}');
    // Stored to the microsecond; the bounds are those of the whole test.
    expect(row.ts.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(row.ts.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('the AMQP timestamp property, when present, is the time of receipt and of the event', async () => {
    const seconds = 1_767_225_600; // 2026-01-01T00:00:00Z
    await publishByHand('{"id":"byhand2","source":"byhand","type":"r"}', { timestamp: seconds });
    const row = await storedRow('byhand', 'byhand2');
    expect(row.ts.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(row.data).toBe('{}');
  });

  it('a timestamp in the message wins over the AMQP property', async () => {
    await publishByHand(
      '{"id":"byhand3","source":"byhand","type":"r","timestamp":"2025-06-01T12:00:00Z"}',
      { timestamp: 1_767_225_600 },
    );
    const row = await storedRow('byhand', 'byhand3');
    expect(row.ts.toISOString()).toBe('2025-06-01T12:00:00.000Z');
  });

  it('a message missing the event fields is still dead-lettered as invalid', async () => {
    await publishByHand('{"id":"byhand4","source":"byhand"}');
    const dead = await waitFor('the dead letter', async () => {
      const messages = await fixture.admin.peek(fixture.topology.deadLetterQueue, 10);
      return messages.find((m) => m.body.toString().includes('byhand4'));
    });
    expect(dead.headers['x-death-reason']).toBe('invalid_message');
  });
});
