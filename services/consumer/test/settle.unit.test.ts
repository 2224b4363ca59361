import { MessageHeader } from '@webhooks/contracts';
import { type OutgoingMessage, QueueUnavailableError, topologyFor } from '@webhooks/queue';
import { describe, expect, it } from 'vitest';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import { ConsumerMetrics } from '../src/pipeline/consumer-metrics.js';
import type { Decision } from '../src/pipeline/decide.js';
import { Settler } from '../src/pipeline/settle.js';
import { eventBody, type FakeDelivery, fakeDelivery } from './fixtures/fake-delivery.js';

const topology = topologyFor({
  exchange: 'ex',
  queue: 'q',
  retryDelaysMs: [1000, 2000, 4000],
  queueType: 'classic',
});
const NOW = new Date('2026-05-06T08:00:00.000Z');

function setup(options: { publishFails?: boolean } = {}) {
  const published: OutgoingMessage[] = [];
  const metrics = new ConsumerMetrics({ queueDepths: async () => new Map() });
  const logs = captureLogs('debug');
  const settler = new Settler({
    publisher: {
      publish: async (message) => {
        if (options.publishFails) throw new QueueUnavailableError('timeout', 'no confirm');
        published.push(message);
      },
    },
    topology,
    logger: logs.logger,
    metrics,
    now: () => NOW,
  });
  const settle = (delivery: FakeDelivery, decision: Decision, attempt = 1) =>
    settler.settle({
      message: delivery,
      decision,
      context: { attempt, requestId: 'req-1' },
      event: undefined,
    });
  return { settle, published, metrics, logs };
}

const original = () =>
  fakeDelivery(eventBody('e-1'), {
    headers: { 'x-request-id': 'req-1', 'x-attempt': 1, 'x-death': [{ count: 1 }] },
    properties: {
      messageId: 'e-1',
      contentType: 'application/json',
      timestamp: 1_700_000_000,
      appId: 'ingest-api',
    },
  });

describe('Settler: the one place that acks or nacks', () => {
  it('acks a stored message, and nothing is published', async () => {
    const t = setup();
    const delivery = original();
    await t.settle(delivery, { action: 'ack' });
    expect(delivery.settledAs).toEqual(['ack']);
    expect(t.published).toEqual([]);
    expect((await t.metrics.acked.get()).values[0]?.value).toBe(1);
  });

  it('a retry is copied to the retry queue of its delay, confirmed, then the original acked', async () => {
    const t = setup();
    const delivery = original();
    await t.settle(
      delivery,
      { action: 'retry', delayMs: 2000, nextAttempt: 3, error: '40001: boom' },
      2,
    );
    expect(delivery.settledAs).toEqual(['ack']);
    expect(t.published).toHaveLength(1);
    const copy = t.published[0];
    expect(copy?.exchange).toBe('');
    expect(copy?.routingKey).toBe('q.retry.2s');
    expect(copy?.body.toString()).toBe(delivery.body.toString());
    expect(copy?.properties).toEqual({
      messageId: 'e-1',
      contentType: 'application/json',
      timestamp: 1_700_000_000,
      appId: 'ingest-api',
      headers: {
        'x-request-id': 'req-1',
        [MessageHeader.attempt]: 3,
        [MessageHeader.lastError]: '40001: boom',
        [MessageHeader.firstFailedAt]: NOW.toISOString(),
      },
    });
    expect((await t.metrics.retried.get()).values[0]?.value).toBe(1);
  });

  it('a dead letter goes to the DLQ with its reason and attempts, keeping the first failure time', async () => {
    const t = setup();
    const delivery = fakeDelivery(eventBody('e-2'), {
      headers: { [MessageHeader.firstFailedAt]: '2026-05-06T07:00:00.000Z', 'x-attempt': 4 },
      properties: { messageId: 'e-2' },
    });
    await t.settle(
      delivery,
      { action: 'dead-letter', reason: 'retries_exhausted', error: 'x'.repeat(5000) },
      4,
    );
    expect(delivery.settledAs).toEqual(['ack']);
    const headers = t.published[0]?.properties.headers ?? {};
    expect(t.published[0]?.routingKey).toBe('q_dlq');
    expect(headers[MessageHeader.deathReason]).toBe('retries_exhausted');
    expect(headers[MessageHeader.attempts]).toBe(4);
    expect(headers[MessageHeader.firstFailedAt]).toBe('2026-05-06T07:00:00.000Z');
    expect(String(headers[MessageHeader.lastError])).toHaveLength(1000);
    const dead = await t.metrics.deadLettered.get();
    expect(dead.values).toEqual([
      expect.objectContaining({ labels: { reason: 'retries_exhausted' }, value: 1 }),
    ]);
  });

  it('a copy the broker does not confirm leaves the original in the broker (requeued), never acked', async () => {
    const t = setup({ publishFails: true });
    const delivery = original();
    await t.settle(delivery, { action: 'dead-letter', reason: 'invalid_message', error: 'bad' });
    expect(delivery.settledAs).toEqual(['requeue']);
    expect((await t.metrics.deadLettered.get()).values).toEqual([]);
  });

  it('requeue gives the delivery back as it is', async () => {
    const t = setup();
    const delivery = original();
    await t.settle(delivery, { action: 'requeue' });
    expect(delivery.settledAs).toEqual(['requeue']);
    expect(t.published).toEqual([]);
  });

  it('never throws: a decision it cannot carry out (no such retry queue) requeues the delivery', async () => {
    const t = setup();
    const delivery = original();
    await t.settle(delivery, { action: 'retry', delayMs: 999, nextAttempt: 2, error: 'e' });
    expect(delivery.settledAs).toEqual(['requeue']);
    expect(t.logs.lines.some((l) => l.msg === 'settling a message failed; requeueing it')).toBe(
      true,
    );
  });
});
