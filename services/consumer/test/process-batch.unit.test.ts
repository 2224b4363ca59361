import {
  DatabaseUnavailableError,
  type EventRow,
  PermanentDatabaseError,
  TransientDatabaseError,
} from '@webhooks/db';
import { describe, expect, it } from 'vitest';
import type { StoreOutcome } from '../src/pipeline/decide.js';
import type { FanOutItem } from '../src/pipeline/events-fan-out.js';
import { processBatch, publishStoredEvents } from '../src/pipeline/process-batch.js';
import { eventBody, fakeDelivery } from './fixtures/fake-delivery.js';

const retryDelaysMs = [1000, 2000, 4000];
const storeAll = async (rows: readonly EventRow[]): Promise<StoreOutcome[]> =>
  rows.map(() => ({ kind: 'stored' }));

describe('processBatch: decode, store, decide, without a broker', () => {
  it('stores the valid events in one call and gives one decision per message, in order', async () => {
    const stored: EventRow[][] = [];
    const messages = [
      fakeDelivery(eventBody('a', { n: 1 })),
      fakeDelivery('not json'),
      fakeDelivery(eventBody('b'), { headers: { 'x-attempt': 2, 'x-request-id': 'req-b' } }),
      fakeDelivery(JSON.stringify({ id: 'c' })),
    ];
    const verdicts = await processBatch(messages, {
      store: async (rows) => {
        stored.push([...rows]);
        return storeAll(rows);
      },
      retryDelaysMs,
    });

    expect(stored).toHaveLength(1);
    expect(stored[0]?.map((r) => r.eventId)).toEqual(['a', 'b']);
    expect(stored[0]?.[0]).toEqual({
      eventId: 'a',
      source: 'unit',
      type: 'thing.happened',
      data: { n: 1 },
      dataJson: '{"n":1}',
      timestamp: '2026-05-06T07:08:09.000Z',
    });
    expect(verdicts.map((v) => v.message)).toEqual(messages);
    expect(verdicts.map((v) => v.decision.action)).toEqual([
      'ack',
      'dead-letter',
      'ack',
      'dead-letter',
    ]);
    expect(verdicts[1]?.decision).toMatchObject({ reason: 'invalid_message' });
    expect(verdicts[2]?.context).toEqual({ attempt: 2, requestId: 'req-b' });
    expect(verdicts[2]?.event?.id).toBe('b');
    expect(verdicts[1]?.event).toBeUndefined();
  });

  it('maps each stored outcome onto its own message, invalid ones in between', async () => {
    const messages = [
      fakeDelivery('{'),
      fakeDelivery(eventBody('ok')),
      fakeDelivery(eventBody('refused')),
      fakeDelivery(eventBody('deadlocked'), { headers: { 'x-attempt': 4 } }),
    ];
    const verdicts = await processBatch(messages, {
      store: async (rows) =>
        rows.map((row): StoreOutcome => {
          if (row.eventId === 'refused') {
            return {
              kind: 'failed',
              error: new PermanentDatabaseError('no', { cause: null, code: '23514' }),
            };
          }
          if (row.eventId === 'deadlocked') {
            return {
              kind: 'failed',
              error: new TransientDatabaseError('dl', { cause: null, code: '40P01' }),
            };
          }
          return { kind: 'stored' };
        }),
      retryDelaysMs,
    });
    expect(verdicts.map((v) => v.decision)).toEqual([
      expect.objectContaining({ action: 'dead-letter', reason: 'invalid_message' }),
      { action: 'ack' },
      expect.objectContaining({ action: 'dead-letter', reason: 'rejected_by_database' }),
      expect.objectContaining({ action: 'dead-letter', reason: 'retries_exhausted' }),
    ]);
  });

  it('a store that returns the wrong number of outcomes is a bug: the batch is retried, never acked', async () => {
    const messages = [fakeDelivery(eventBody('x')), fakeDelivery(eventBody('y'))];
    const verdicts = await processBatch(messages, {
      store: async () => [{ kind: 'stored' }],
      retryDelaysMs,
    });
    // One verdict per message: an empty answer would leave both messages never settled.
    expect(verdicts.map((v) => v.message)).toEqual(messages);
    for (const verdict of verdicts) {
      expect(verdict.decision).toMatchObject({ action: 'retry', delayMs: 1000, nextAttempt: 2 });
      expect(verdict.decision.action === 'retry' && verdict.decision.error).toMatch(
        /^BATCH_PROCESSING_FAILED: .*1 outcomes for 2 events/,
      );
    }
  });

  it('an unexpected error takes the retry path with its reason, and ends dead-lettered once retries are used up', async () => {
    const store = async (): Promise<StoreOutcome[]> => {
      throw new TypeError("Cannot read properties of undefined (reading 'id')");
    };
    const first = await processBatch([fakeDelivery(eventBody('bug'))], { store, retryDelaysMs });
    expect(first[0]?.decision).toEqual({
      action: 'retry',
      delayMs: 1000,
      nextAttempt: 2,
      error:
        "BATCH_PROCESSING_FAILED: unexpected error while processing the batch: TypeError: Cannot read properties of undefined (reading 'id')",
    });
    const last = await processBatch(
      [fakeDelivery(eventBody('bug'), { headers: { 'x-attempt': 4 } })],
      { store, retryDelaysMs },
    );
    expect(last[0]?.decision).toMatchObject({
      action: 'dead-letter',
      reason: 'retries_exhausted',
      error: expect.stringContaining('TypeError'),
    });
  });

  it('the database still away at shutdown gives every message back to the queue', async () => {
    const verdicts = await processBatch([fakeDelivery(eventBody('p')), fakeDelivery('junk')], {
      store: async () => {
        throw new DatabaseUnavailableError('connection refused', {
          cause: null,
          code: 'ECONNREFUSED',
        });
      },
      retryDelaysMs,
    });
    expect(verdicts.map((v) => v.decision)).toEqual([{ action: 'requeue' }, { action: 'requeue' }]);
  });

  it('publishes the stored events with their keys; one not published is requeued, its neighbours kept', async () => {
    const key = (eventId: string) => ({
      id: `row-${eventId}`,
      eventId,
      source: 'unit',
      type: 'thing.happened',
      timestamp: '2026-05-06T07:08:09.000000Z',
    });
    const verdicts = await processBatch(
      [
        fakeDelivery(eventBody('new'), { headers: { 'x-request-id': 'req-new' } }),
        fakeDelivery('junk'),
        fakeDelivery(eventBody('earlier')),
        fakeDelivery(eventBody('refused'), { headers: { 'x-attempt': 4 } }),
        fakeDelivery(eventBody('unstored')),
      ],
      {
        store: async (rows) =>
          rows.map((row): StoreOutcome => {
            if (row.eventId === 'earlier') return { kind: 'stored' };
            if (row.eventId === 'unstored') {
              return {
                kind: 'failed',
                error: new TransientDatabaseError('dl', { cause: null, code: '40P01' }),
              };
            }
            return { kind: 'stored', key: key(row.eventId) };
          }),
        retryDelaysMs,
      },
    );
    const seen: FanOutItem[][] = [];
    const published = await publishStoredEvents(verdicts, {
      fanOut: async (items) => {
        seen.push([...items]);
        return items.map((item) =>
          item.event.id === 'refused'
            ? { published: false, error: new Error('nack') }
            : { published: true },
        );
      },
      retryDelaysMs,
    });
    // Only stored events are published: not the invalid one, not the one that failed to store.
    expect(seen).toHaveLength(1);
    expect(seen[0]?.map((i) => [i.event.id, i.key?.id, i.requestId])).toEqual([
      ['new', 'row-new', 'req-new'],
      ['earlier', undefined, undefined],
      ['refused', 'row-refused', undefined],
    ]);
    // The data as the insert sent it, made once for both.
    expect(seen[0]?.map((i) => i.dataJson)).toEqual(['{}', '{}', '{}']);
    expect(published.map((v) => v.message)).toEqual(verdicts.map((v) => v.message));
    expect(published.map((v) => v.decision.action)).toEqual([
      'ack',
      'dead-letter',
      'ack',
      'requeue',
      'retry',
    ]);
  });

  it('a fan-out that throws requeues every stored event: never retried or dead-lettered for it', async () => {
    const verdicts = await processBatch([fakeDelivery(eventBody('a')), fakeDelivery('junk')], {
      store: storeAll,
      retryDelaysMs,
    });
    const published = await publishStoredEvents(verdicts, {
      fanOut: async () => {
        throw new TypeError('planted');
      },
      retryDelaysMs,
    });
    expect(published.map((v) => v.decision.action)).toEqual(['requeue', 'dead-letter']);
  });

  it('makes the exact JSON of the data once, for the insert and the fan-out, with every digit', async () => {
    const body = eventBody('big').replace('"data":{}', '"data":{"amount":12345678901234567890.10}');
    const rows: EventRow[] = [];
    const verdicts = await processBatch([fakeDelivery(body)], {
      store: async (batch) => {
        rows.push(...batch);
        return batch.map((row) => ({
          kind: 'stored',
          key: { id: 'row-big', eventId: row.eventId, source: 'unit', type: 't', timestamp: 'x' },
        }));
      },
      retryDelaysMs,
    });
    const seen: FanOutItem[] = [];
    await publishStoredEvents(verdicts, {
      fanOut: async (items) => {
        seen.push(...items);
        return items.map(() => ({ published: true }));
      },
      retryDelaysMs,
    });
    expect(rows.map((r) => r.dataJson)).toEqual(['{"amount":12345678901234567890.10}']);
    expect(seen.map((i) => i.dataJson)).toEqual(rows.map((r) => r.dataJson));
  });

  it('an empty batch stores nothing', async () => {
    let calls = 0;
    const verdicts = await processBatch([], {
      store: async (rows) => {
        calls += rows.length;
        return [];
      },
      retryDelaysMs,
    });
    expect(verdicts).toEqual([]);
    expect(calls).toBe(0);
  });
});
