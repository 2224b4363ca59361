import { describe, expect, it } from 'vitest';
import { eventsRoutingKey, storedEventMessage } from '../src/events-exchange.js';

describe('eventsRoutingKey', () => {
  it('is <source>.<type> when it fits', () => {
    expect(eventsRoutingKey('shop', 'order.paid')).toBe('shop.order.paid');
    expect(eventsRoutingKey('s'.repeat(127), 't'.repeat(127))).toHaveLength(255);
  });

  it('is cut to 255 bytes of UTF-8, never inside a character', () => {
    // "shop." is 5 bytes, each "€" 3: 83 of them make 254 bytes, an 84th would make 257.
    const euros = eventsRoutingKey('shop', '€'.repeat(255));
    expect(euros).toBe(`shop.${'€'.repeat(83)}`);
    expect(Buffer.byteLength(euros)).toBe(254);
    // A character outside the BMP (4 bytes, two UTF-16 units) is never split in half.
    expect(eventsRoutingKey('s'.repeat(251), '😀😀')).toBe(`${'s'.repeat(251)}.`);
    expect(eventsRoutingKey('s'.repeat(250), '😀😀')).toBe(`${'s'.repeat(250)}.😀`);
    expect(eventsRoutingKey('é'.repeat(255), 'x')).toBe('é'.repeat(127));
  });
});

describe('storedEventMessage', () => {
  it('carries the event as stored, exact data, and names the row in webhook-id', () => {
    const message = storedEventMessage('events', {
      rowId: '0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000',
      eventId: 'ord-1',
      source: 'shop',
      type: 'order.paid',
      timestamp: '2026-05-06T05:08:09.123456Z',
      dataJson: '{"big": 12345678901234567890}',
      requestId: 'req-1',
    });
    expect(message.body.toString()).toBe(
      '{"id":"ord-1","source":"shop","type":"order.paid","timestamp":"2026-05-06T05:08:09.123456Z","data":{"big": 12345678901234567890}}',
    );
    expect(message).toMatchObject({
      exchange: 'events',
      routingKey: 'shop.order.paid',
      mandatory: false,
      properties: {
        messageId: 'msg_0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000',
        contentType: 'application/json',
        headers: {
          'webhook-id': 'msg_0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000',
          'x-source': 'shop',
          'x-type': 'order.paid',
          'x-request-id': 'req-1',
        },
      },
    });
  });

  it('has no x-request-id header when the message had none', () => {
    const message = storedEventMessage('events', {
      rowId: 'r',
      eventId: 'e',
      source: 's',
      type: 't',
      timestamp: '2026-05-06T05:08:09.000000Z',
      dataJson: '{}',
    });
    expect(message.properties.headers).not.toHaveProperty('x-request-id');
  });
});
