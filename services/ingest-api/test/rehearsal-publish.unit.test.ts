import type { QueueMessage } from '@webhooks/contracts';
import {
  type ConfirmPublisher,
  type OutgoingMessage,
  QueueUnavailableError,
  topologyFor,
} from '@webhooks/queue';
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import { queueEventPublisher } from '../src/event-publisher.js';
import { IngestMetrics } from '../src/metrics.js';

// The warm-up's rehearsals are published for real (so the publish path is warm) but where no
// queue takes them; a broker that refuses them must not be asked again.
const topology = topologyFor({
  exchange: 'webhooks',
  queue: 'webhooks',
  retryDelaysMs: [1000],
  queueType: 'classic',
});

const event: QueueMessage = {
  id: 'evt-1',
  source: 'warm-up',
  type: 'warm-up.created',
  timestamp: '2026-12-03T00:00:00.000Z',
  receivedAt: '2026-12-03T00:00:00.000Z',
  data: {},
} as unknown as QueueMessage;

/** A publisher that records what it is given and answers each publish with `answer()`. */
function fakePublisher(answer: () => Promise<void>) {
  const sent: OutgoingMessage[] = [];
  const publisher = {
    ready: true,
    publish: (message: OutgoingMessage) => {
      sent.push(message);
      return answer();
    },
  } as unknown as ConfirmPublisher;
  return { publisher, sent };
}

const rehearsalsOn = (publisher: ConfirmPublisher, logger?: Logger) =>
  queueEventPublisher(
    publisher,
    topology,
    new IngestMetrics({ brokerConnected: () => true }),
    logger,
  );

describe('rehearsals of the warm-up', () => {
  it('go to the default exchange under a routing key naming no queue, not mandatory', async () => {
    const { publisher, sent } = fakePublisher(async () => {});
    const events = rehearsalsOn(publisher);
    expect(await events.rehearse?.(event, { requestId: 'r1' })).toBe(true);
    expect(await events.rehearse?.(event, { requestId: 'r2' })).toBe(true);
    expect(sent).toHaveLength(2);
    for (const message of sent) {
      expect(message.exchange).toBe('');
      expect(message.routingKey).toMatch(/^warm-up\.[0-9a-f-]{36}$/);
      expect(message.routingKey).not.toBe(topology.queue);
      expect(message.mandatory).toBe(false);
    }
    // One key per process, drawn at start.
    expect(sent[1]?.routingKey).toBe(sent[0]?.routingKey);
  });

  it('stop being published once the broker refuses one, with one warning', async () => {
    const { publisher, sent } = fakePublisher(async () => {
      throw new QueueUnavailableError('channel_closed', 'publish channel closed');
    });
    const { logger, lines } = captureLogs('warn');
    const events = rehearsalsOn(publisher, logger);
    expect(await events.rehearse?.(event, { requestId: 'r1' })).toBe(false);
    expect(await events.rehearse?.(event, { requestId: 'r2' })).toBe(false);
    expect(sent).toHaveLength(1);
    expect(lines.filter((l) => l.msg.includes('warm-up message'))).toHaveLength(1);
  });

  it('are kept on when a publish only found the broker busy', async () => {
    let calls = 0;
    const { publisher, sent } = fakePublisher(async () => {
      calls += 1;
      if (calls === 1) throw new QueueUnavailableError('overloaded', 'too many');
    });
    const events = rehearsalsOn(publisher);
    expect(await events.rehearse?.(event, { requestId: 'r1' })).toBe(false);
    expect(await events.rehearse?.(event, { requestId: 'r2' })).toBe(true);
    expect(sent).toHaveLength(2);
  });
});
