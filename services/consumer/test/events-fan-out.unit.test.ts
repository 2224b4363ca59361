import type { QueueMessage } from '@webhooks/contracts';
import { parseExactJson } from '@webhooks/contracts';
import type { StoredKey, StoredKeyWithData } from '@webhooks/db';
import { type OutgoingMessage, QueueUnavailableError } from '@webhooks/queue';
import { describe, expect, it } from 'vitest';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { ConsumerMetrics } from '../src/pipeline/consumer-metrics.js';
import {
  eventsFanOut,
  type FanOutItem,
  StoredRowLookupError,
} from '../src/pipeline/events-fan-out.js';

const event = (id: string, data: Record<string, unknown> = {}): QueueMessage => ({
  id,
  source: 'shop',
  type: 'order.paid',
  data,
  timestamp: '2026-05-06T07:08:09.000Z',
  receivedAt: '2026-05-06T07:08:09.500Z',
});
const key = (id: string): StoredKey => ({
  id: `row-${id}`,
  eventId: id,
  source: 'shop',
  type: 'order.paid',
  timestamp: '2026-05-06T07:08:09.000000Z',
});
const item = (
  id: string,
  stored: 'new' | 'earlier',
  data?: Record<string, unknown>,
): FanOutItem => ({
  event: event(id, data),
  key: stored === 'new' ? key(id) : undefined,
  requestId: `req-${id}`,
});

/** A publisher whose confirms the test hands out, and a repository of rows stored earlier. */
function setup(earlier: StoredKeyWithData[] = []) {
  const sent: Array<{ message: OutgoingMessage; confirm: () => void; refuse: (e: Error) => void }> =
    [];
  const lookups: Array<Array<{ source: string; eventId: string }>> = [];
  const metrics = new ConsumerMetrics({ queueDepths: async () => new Map() });
  let lookupError: Error | undefined;
  const fanOut = eventsFanOut({
    exchange: 'events',
    publisher: {
      publish: (message) =>
        new Promise<void>((confirm, refuse) => sent.push({ message, confirm, refuse })),
    },
    events: {
      findStored: async (keys) => {
        lookups.push([...keys]);
        if (lookupError) throw lookupError;
        return earlier.filter((row) => keys.some((k) => k.eventId === row.eventId));
      },
    },
    metrics,
    logger: testLogger(),
  });
  return {
    fanOut,
    sent,
    lookups,
    metrics,
    failLookups: (error: Error) => (lookupError = error),
  };
}

async function count(metric: { get(): Promise<{ values: Array<{ value: number }> }> }) {
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/** Waits until `n` messages were handed to the publisher. */
async function sentCount(t: ReturnType<typeof setup>, n: number): Promise<void> {
  for (let i = 0; i < 100 && t.sent.length < n; i++) await Promise.resolve();
  expect(t.sent).toHaveLength(n);
}

describe('eventsFanOut', () => {
  it('sends the whole batch before awaiting any confirm, and reads nothing back for new rows', async () => {
    const t = setup();
    const done = t.fanOut([
      item('a', 'new', { big: parseExactJson('12345678901234567890') }),
      item('b', 'new'),
    ]);
    // Both are out while neither is confirmed: one round trip for the batch.
    await sentCount(t, 2);
    for (const s of t.sent) s.confirm();
    expect(await done).toEqual([{ published: true }, { published: true }]);
    expect(t.lookups).toEqual([]);
    expect(t.sent[0]?.message.body.toString()).toContain('"data":{"big":12345678901234567890}');
    expect(t.sent[0]?.message.properties.headers).toMatchObject({
      'webhook-id': 'msg_row-a',
      'x-request-id': 'req-a',
    });
    expect(await count(t.metrics.eventsPublished)).toBe(2);
  });

  it('publishes the data as the insert sent it when the item carries it, without making it again', async () => {
    const t = setup();
    const done = t.fanOut([{ ...item('a', 'new', { n: 1 }), dataJson: '{"n":1.0}' }]);
    await sentCount(t, 1);
    t.sent[0]?.confirm();
    expect(await done).toEqual([{ published: true }]);
    // `1.0` is the insert's text: `data` alone would have been written `1`.
    expect(t.sent[0]?.message.body.toString()).toContain('"data":{"n":1.0}');
  });

  it('reads back the rows stored earlier in one query, with their stored data', async () => {
    const t = setup([{ ...key('old'), dataJson: '{"amount": 5}' }]);
    const done = t.fanOut([item('new', 'new'), item('old', 'earlier', { amount: 999 })]);
    await sentCount(t, 2);
    for (const s of t.sent) s.confirm();
    await done;
    expect(t.lookups).toEqual([[{ source: 'shop', eventId: 'old' }]]);
    expect(JSON.parse(t.sent[1]?.message.body.toString() ?? '')).toMatchObject({
      id: 'old',
      data: { amount: 5 },
    });
    expect(t.sent[1]?.message.properties.messageId).toBe('msg_row-old');
  });

  it('publishes a row once however many of its messages the batch holds', async () => {
    const t = setup([{ ...key('twice'), dataJson: '{}' }]);
    const done = t.fanOut([item('twice', 'earlier'), item('twice', 'earlier')]);
    await sentCount(t, 1);
    t.sent[0]?.confirm();
    expect(await done).toEqual([{ published: true }, { published: true }]);
  });

  it('a refused publish fails only its own events, counted by reason', async () => {
    const t = setup();
    const done = t.fanOut([item('ok', 'new'), item('refused', 'new')]);
    await sentCount(t, 2);
    t.sent[0]?.confirm();
    const nack = new QueueUnavailableError('nack', 'the broker refused the message');
    t.sent[1]?.refuse(nack);
    expect(await done).toEqual([{ published: true }, { published: false, error: nack }]);
    const { values } = await t.metrics.eventsPublishFailures.get();
    expect(values).toEqual([expect.objectContaining({ labels: { reason: 'nack' }, value: 1 })]);
  });

  it('when the stored rows cannot be read, only the events that needed them are unpublished', async () => {
    const t = setup();
    t.failLookups(new Error('connection terminated'));
    const done = t.fanOut([item('new', 'new'), item('old', 'earlier')]);
    await sentCount(t, 1);
    t.sent[0]?.confirm();
    const [fresh, old] = await done;
    expect(fresh).toEqual({ published: true });
    expect(old).toMatchObject({ published: false });
    expect(old?.published === false && old.error).toBeInstanceOf(StoredRowLookupError);
  });

  it('an event whose row is gone since (retention) has nothing left to publish', async () => {
    const t = setup([]);
    expect(await t.fanOut([item('gone', 'earlier')])).toEqual([{ published: true }]);
    expect(t.sent).toEqual([]);
  });
});
