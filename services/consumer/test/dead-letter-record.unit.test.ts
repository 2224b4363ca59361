import type { DeadLetterRecord } from '@webhooks/db';
import type { ConfirmPublisher, Delivery } from '@webhooks/queue';
import { topologyFor } from '@webhooks/queue';
import { describe, expect, it } from 'vitest';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { identifyDeadLetter } from '../src/dead-letter-key.js';
import { deadLetterTableLog } from '../src/dead-letter-log.js';
import { ConsumerMetrics } from '../src/metrics.js';
import { histogramQuantile } from '../src/ops-overview.js';
import { Settler } from '../src/settle.js';

const topology = topologyFor({
  exchange: 'x',
  queue: 'q',
  retryDelaysMs: [1000],
  queueType: 'classic',
});

function fakeDelivery(body: string, steps: string[], messageId = 'evt-1'): Delivery {
  return {
    body: Buffer.from(body),
    properties: { messageId, headers: {} } as unknown as Delivery['properties'],
    headers: { 'x-request-id': 'req-1', 'x-first-failed-at': '2026-01-02T03:04:05.000Z' },
    redelivered: false,
    settleable: true,
    ack: () => steps.push('ack'),
    nack: ({ requeue }) => steps.push(`nack requeue=${requeue}`),
  };
}

function settlerWith(steps: string[], record: (letter: DeadLetterRecord) => Promise<string>) {
  const metrics = new ConsumerMetrics({
    circuitOpen: () => false,
    queueDepths: async () => new Map(),
  });
  const publisher = {
    publish: async () => {
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
    await settler.settle(
      fakeDelivery(EVENT, steps),
      { action: 'dead-letter', reason: 'rejected_by_database', error: '22P02: bad' },
      { attempt: 2, requestId: 'req-1' },
    );
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
    await settler.settle(
      fakeDelivery(EVENT, steps),
      { action: 'dead-letter', reason: 'invalid_message', error: 'bad' },
      { attempt: 1, requestId: undefined },
    );
    expect(steps).toEqual(['dead-letter copy confirmed', 'counted as unrecorded', 'ack']);
  });

  it('retries are not recorded', async () => {
    const steps: string[] = [];
    const settler = settlerWith(steps, async () => {
      steps.push('recorded');
      return 'row-id';
    });
    await settler.settle(
      fakeDelivery(EVENT, steps),
      { action: 'retry', delayMs: 1000, nextAttempt: 2, error: 'timeout' },
      { attempt: 1, requestId: undefined },
    );
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

  it('by its bytes when it is not an event', () => {
    const garbage = identifyDeadLetter(Buffer.from('not json'), 'm-1');
    expect(garbage).toMatchObject({ eventId: 'm-1', source: undefined, type: undefined });
    expect(garbage.messageKey).toBe(identifyDeadLetter(Buffer.from('not json'), 'm-1').messageKey);
    expect(garbage.messageKey).not.toBe(
      identifyDeadLetter(Buffer.from('not json!'), 'm-1').messageKey,
    );
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
