import { createRequire } from 'node:module';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PublishProperties } from '../src/message-properties.js';
import { encodePublishFrames, type PublishFrame } from '../src/publish-frames.js';

// amqplib's own encoder, from the installed package's files (they are not among its exports):
// what it would write for the same publish is the reference, byte for byte.
const require = createRequire(import.meta.url);
const amqplibDir = path.dirname(require.resolve('amqplib'));
const defs = require(path.join(amqplibDir, 'lib/defs.js')) as {
  BasicPublish: number;
  BasicProperties: number;
  encodeMethod(id: number, channel: number, fields: object): Buffer;
  encodeProperties(id: number, channel: number, size: number, fields: object): Buffer;
};
const { makeBodyFrame } = require(path.join(amqplibDir, 'lib/frame.js')) as {
  makeBodyFrame(channel: number, body: Buffer): Buffer;
};
const Args = require(path.join(amqplibDir, 'lib/api_args.js')) as {
  publish(exchange: string, routingKey: string, options: object): object;
};

/** What amqplib's `ConfirmChannel.publish` writes for the same message (one body frame). */
function amqplibFrames(frame: PublishFrame): Buffer {
  const fields = Args.publish(frame.exchange, frame.routingKey, {
    ...frame.properties,
    deliveryMode: frame.deliveryMode,
    mandatory: frame.mandatory,
  });
  return Buffer.concat([
    defs.encodeMethod(defs.BasicPublish, frame.channel, fields),
    defs.encodeProperties(defs.BasicProperties, frame.channel, frame.body.length, fields),
    ...(frame.body.length > 0 ? [makeBodyFrame(frame.channel, frame.body)] : []),
  ]);
}

const eventFrame = (overrides: Partial<PublishFrame> = {}): PublishFrame => ({
  channel: 1,
  frameMax: 131_072,
  exchange: 'webhooks',
  routingKey: 'webhook.received',
  mandatory: true,
  deliveryMode: 2,
  properties: {
    messageId: 'evt_1',
    contentType: 'application/json',
    timestamp: 1_764_720_000,
    appId: 'ingest-api',
    headers: { 'x-request-id': 'req-1', 'x-attempt': 1 },
  },
  body: Buffer.from('{"id":"evt_1","source":"shop"}'),
  ...overrides,
});

const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
const shortText = fc.string({ maxLength: 40, unit: 'binary' });
const headerValue = fc.oneof(
  fc.string({ maxLength: 60, unit: 'binary' }),
  fc.boolean(),
  fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  fc.integer({ min: -200, max: 200 }),
  fc.constant(undefined),
);
const properties: fc.Arbitrary<PublishProperties> = fc.record(
  {
    contentType: optional(shortText),
    contentEncoding: optional(shortText),
    messageId: optional(shortText),
    correlationId: optional(shortText),
    timestamp: optional(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
    type: optional(shortText),
    appId: optional(shortText),
    headers: optional(fc.dictionary(fc.string({ maxLength: 20 }), headerValue, { maxKeys: 6 })),
  },
  { requiredKeys: [] },
);
const frames: fc.Arbitrary<PublishFrame> = fc.record({
  channel: fc.integer({ min: 1, max: 2047 }),
  frameMax: fc.constant(131_072),
  exchange: shortText,
  routingKey: shortText,
  mandatory: fc.boolean(),
  deliveryMode: fc.constantFrom(1, 2),
  properties,
  body: fc.uint8Array({ maxLength: 3000 }).map((bytes) => Buffer.from(bytes)),
});

describe('encodePublishFrames', () => {
  it('writes what amqplib writes for an event as the ingest API publishes it', () => {
    const frame = eventFrame();
    expect(encodePublishFrames(frame)).toEqual(amqplibFrames(frame));
  });

  it('writes what amqplib writes for any message it takes', () => {
    fc.assert(
      fc.property(frames, (frame) => {
        const encoded = encodePublishFrames(frame);
        expect(encoded).toBeDefined();
        expect(encoded?.equals(amqplibFrames(frame))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes no body frame for an empty body, as amqplib does', () => {
    const frame = eventFrame({ body: Buffer.alloc(0) });
    expect(encodePublishFrames(frame)).toEqual(amqplibFrames(frame));
  });

  it('leaves to amqplib what it does not encode', () => {
    const leftToAmqplib: Array<[string, PublishFrame]> = [
      ['a body past one frame', eventFrame({ frameMax: 4096, body: Buffer.alloc(4089) })],
      ['an exchange name past 255 bytes', eventFrame({ exchange: 'é'.repeat(128) })],
      [
        'a nested header table',
        eventFrame({ properties: { headers: { 'x-death': [{ count: 1 }] } } }),
      ],
      ['a fractional header number', eventFrame({ properties: { headers: { ratio: 0.5 } } })],
      ['a 64-bit header number', eventFrame({ properties: { headers: { big: 2 ** 40 } } })],
      ['a null header', eventFrame({ properties: { headers: { gone: null } } })],
      ['a fractional timestamp', eventFrame({ properties: { timestamp: 1.5 } })],
      ['a message id past 255 bytes', eventFrame({ properties: { messageId: 'x'.repeat(256) } })],
    ];
    for (const [what, frame] of leftToAmqplib) {
      expect(encodePublishFrames(frame), what).toBeUndefined();
    }
    // The largest body one frame holds is still encoded here.
    const fullFrame = eventFrame({ frameMax: 4096, body: Buffer.alloc(4088, 1) });
    expect(encodePublishFrames(fullFrame)).toEqual(amqplibFrames(fullFrame));
  });
});
