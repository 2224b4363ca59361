import type { DeadLetterRecord } from '@webhooks/db';
import type { ConfirmPublisher, Delivery, OutgoingMessage } from '@webhooks/queue';
import { topologyFor } from '@webhooks/queue';
import { describe, expect, it } from 'vitest';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { digestKey, identifyDeadLetter } from '../src/dead-letters/dead-letter-key.js';
import { deadLetterTableLog } from '../src/dead-letters/dead-letter-log.js';
import { histogramQuantile } from '../src/ops/ops-overview.js';
import { ConsumerMetrics } from '../src/pipeline/consumer-metrics.js';
import { Settler } from '../src/pipeline/settle.js';

const topology = topologyFor({
  exchange: 'x',
  queue: 'q',
  retryDelaysMs: [1000],
  queueType: 'classic',
});

function fakeDelivery(
  body: string,
  steps: string[],
  properties: { messageId?: string } = { messageId: 'evt-1' },
): Delivery {
  return {
    body: Buffer.from(body),
    properties: { ...properties, headers: {} },
    headers: { 'x-request-id': 'req-1', 'x-first-failed-at': '2026-01-02T03:04:05.000Z' },
    redelivered: false,
    settleable: true,
    ack: () => steps.push('ack'),
    nack: ({ requeue }) => steps.push(`nack requeue=${requeue}`),
  };
}

function settlerWith(
  steps: string[],
  record: (letter: DeadLetterRecord) => Promise<string>,
  copies: OutgoingMessage[] = [],
) {
  const metrics = new ConsumerMetrics({ queueDepths: async () => new Map() });
  const publisher = {
    publish: async (copy: OutgoingMessage) => {
      copies.push(copy);
      steps.push('dead-letter copy confirmed');
    },
  } as unknown as ConfirmPublisher;
  const settler = new Settler({
    publisher,
    topology,
    logger: testLogger(),
    metrics,
    now: () => new Date('2026-01-02T03:04:09.000Z'),
    deadLetterLog: deadLetterTableLog({
      deadLetters: { record },
      logger: testLogger(),
      onUnrecorded: () => steps.push('counted as unrecorded'),
    }),
  });
  return settler;
}

const EVENT = JSON.stringify({ id: 'evt-1', source: 'shop', type: 'order.paid', data: {} });

describe('recording dead letters', () => {
  it('records after the copy is confirmed and before the original is acked', async () => {
    const steps: string[] = [];
    const recorded: DeadLetterRecord[] = [];
    const settler = settlerWith(steps, async (letter) => {
      steps.push('recorded');
      recorded.push(letter);
      return 'row-id';
    });
    await settler.settle({
      message: fakeDelivery(EVENT, steps),
      decision: { action: 'dead-letter', reason: 'rejected_by_database', error: '22P02: bad' },
      context: { attempt: 2, requestId: 'req-1' },
      event: undefined,
    });
    expect(steps).toEqual(['dead-letter copy confirmed', 'recorded', 'ack']);
    expect(recorded[0]).toMatchObject({
      eventId: 'evt-1',
      source: 'shop',
      type: 'order.paid',
      reason: 'rejected_by_database',
      lastError: '22P02: bad',
      attempts: 2,
      requestId: 'req-1',
      firstFailedAt: '2026-01-02T03:04:05.000Z',
      deadLetteredAt: '2026-01-02T03:04:09.000Z',
    });
    expect(recorded[0]?.body.toString()).toBe(EVENT);
  });

  it('when recording fails, the copy is in the queue: the original is still acked, and it is counted', async () => {
    const steps: string[] = [];
    const settler = settlerWith(steps, async () => {
      throw new Error('database away');
    });
    await settler.settle({
      message: fakeDelivery(EVENT, steps),
      decision: { action: 'dead-letter', reason: 'invalid_message', error: 'bad' },
      context: { attempt: 1, requestId: undefined },
      event: undefined,
    });
    expect(steps).toEqual(['dead-letter copy confirmed', 'counted as unrecorded', 'ack']);
  });

  it('retries are not recorded', async () => {
    const steps: string[] = [];
    const settler = settlerWith(steps, async () => {
      steps.push('recorded');
      return 'row-id';
    });
    await settler.settle({
      message: fakeDelivery(EVENT, steps),
      decision: { action: 'retry', delayMs: 1000, nextAttempt: 2, error: 'timeout' },
      context: { attempt: 1, requestId: undefined },
      event: undefined,
    });
    expect(steps).toEqual(['dead-letter copy confirmed', 'ack']);
  });
});

describe('identifying a dead letter', () => {
  it('by source and event id when the body names them, whatever else differs', () => {
    const a = identifyDeadLetter(Buffer.from(EVENT), 'evt-1');
    const b = identifyDeadLetter(
      Buffer.from(JSON.stringify({ source: 'shop', id: 'evt-1', type: 'other' })),
      undefined,
    );
    expect(a.messageKey).toBe(b.messageKey);
    expect(a).toMatchObject({ eventId: 'evt-1', source: 'shop', type: 'order.paid' });
    const otherSource = identifyDeadLetter(
      Buffer.from(JSON.stringify({ source: 'crm', id: 'evt-1' })),
      'evt-1',
    );
    expect(otherSource.messageKey).not.toBe(a.messageKey);
  });

  it('by its message id when the body names no event: equal bodies of two messages stay apart', () => {
    const garbage = identifyDeadLetter(Buffer.from('not json'), 'm-1');
    expect(garbage).toMatchObject({ eventId: 'm-1', source: undefined, type: undefined });
    expect(garbage.messageKey).not.toBe(
      identifyDeadLetter(Buffer.from('not json'), 'm-2').messageKey,
    );
    // Copies of one message share it, whatever the body became.
    expect(identifyDeadLetter(Buffer.from('not json!'), 'm-1').messageKey).toBe(garbage.messageKey);
    // An id in a body without a source names no event either.
    const sourceless = identifyDeadLetter(Buffer.from('{"id":"e-1"}'), 'm-1');
    expect(sourceless).toMatchObject({ eventId: 'e-1', source: undefined });
    expect(sourceless.messageKey).toBe(garbage.messageKey);
  });

  it('by its bytes when there is neither an event nor a message id', () => {
    const garbage = identifyDeadLetter(Buffer.from('not json'), undefined);
    expect(garbage).toMatchObject({
      eventId: undefined,
      messageKey: digestKey(Buffer.from('not json')),
    });
    expect(identifyDeadLetter(Buffer.from('not json'), '').messageKey).toBe(garbage.messageKey);
    expect(identifyDeadLetter(Buffer.from('not json!'), undefined).messageKey).not.toBe(
      garbage.messageKey,
    );
  });

  it('a message without an id is recorded under the id its dead-letter copy was given', async () => {
    const steps: string[] = [];
    const recorded: DeadLetterRecord[] = [];
    const copies: OutgoingMessage[] = [];
    const settler = settlerWith(
      steps,
      async (letter) => {
        recorded.push(letter);
        return 'row-id';
      },
      copies,
    );
    const delivery = fakeDelivery('not json', steps, {});
    await settler.settle({
      message: delivery,
      decision: { action: 'dead-letter', reason: 'invalid_message', error: 'bad' },
      context: { attempt: 1, requestId: undefined },
      event: undefined,
    });
    const copyId = copies[0]?.properties.messageId;
    expect(copyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(recorded[0]).toMatchObject({
      eventId: copyId,
      messageKey: identifyDeadLetter(Buffer.from('not json'), copyId).messageKey,
    });
  });
});

describe('histogramQuantile', () => {
  const buckets = [
    { le: 0.1, count: 50 },
    { le: 1, count: 90 },
    { le: 10, count: 100 },
    { le: Number.POSITIVE_INFINITY, count: 100 },
  ];
  it('interpolates inside the bucket holding the rank', () => {
    expect(histogramQuantile(buckets, 0.5)).toBeCloseTo(0.1);
    expect(histogramQuantile(buckets, 0.7)).toBeCloseTo(0.55);
    expect(histogramQuantile(buckets, 0.99)).toBeCloseTo(9.1);
  });
  it('answers the largest finite bound when the rank is past it', () => {
    const slow = [
      { le: 1, count: 1 },
      { le: Number.POSITIVE_INFINITY, count: 10 },
    ];
    expect(histogramQuantile(slow, 0.99)).toBe(1);
  });
});
