import type { Delivery } from '@webhooks/queue';
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../src/pipeline/decode-message.js';

type Properties = Delivery['properties'];

function delivery(body: string, properties: Partial<Properties> = {}): Delivery {
  return {
    body: Buffer.from(body),
    properties: { headers: {}, ...properties } as Properties,
    headers: {},
    redelivered: false,
    settleable: true,
    ack: () => {},
    nack: () => {},
  };
}

const NOW_MS = Date.parse('2026-05-06T07:08:09.123Z');

describe('decodeMessage', () => {
  it('keeps a message as the ingest API publishes it unchanged', () => {
    const message = {
      id: 'e1',
      source: 's',
      type: 't',
      data: { a: 1 },
      timestamp: '2026-01-01T00:00:00.000Z',
      receivedAt: '2026-01-02T00:00:00.000Z',
    };
    const decoded = decodeMessage(delivery(JSON.stringify(message), { timestamp: 1 }), {
      nowMs: NOW_MS,
    });
    expect(decoded).toMatchObject({ ok: true, event: message });
  });

  it('completes the event fields alone: receipt at consumption, data {}', () => {
    const decoded = decodeMessage(delivery('{"id":"h1","source":"byhand","type":"r"}'), {
      nowMs: NOW_MS,
    });
    expect(decoded).toMatchObject({
      ok: true,
      event: {
        id: 'h1',
        data: {},
        receivedAt: '2026-05-06T07:08:09.123Z',
        timestamp: '2026-05-06T07:08:09.123Z',
      },
    });
  });

  it('takes the AMQP timestamp property (seconds) as the time of receipt when present', () => {
    const body = '{"id":"h2","source":"byhand","type":"r","timestamp":"2025-01-01T00:00:00Z"}';
    const decoded = decodeMessage(delivery(body, { timestamp: 1_767_225_600 }), { nowMs: NOW_MS });
    expect(decoded).toMatchObject({
      ok: true,
      event: { receivedAt: '2026-01-01T00:00:00.000Z', timestamp: '2025-01-01T00:00:00Z' },
    });
  });

  it('keeps every digit of the numbers in data', () => {
    const body = '{"id":"h3","source":"s","type":"r","data":{"id":820982911946154508}}';
    const decoded = decodeMessage(delivery(body), { nowMs: NOW_MS });
    expect(decoded.ok && String(decoded.event.data.id)).toBe('820982911946154508');
  });

  it.each([
    ['no type', '{"id":"h4","source":"s"}'],
    ['no id', '{"source":"s","type":"t"}'],
    ['not JSON', '{"id":'],
  ])('still refuses a message with %s', (_case, body) => {
    expect(decodeMessage(delivery(body), { nowMs: NOW_MS }).ok).toBe(false);
  });
});
