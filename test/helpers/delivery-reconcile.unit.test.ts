import { describe, expect, it } from 'vitest';
import { classifyDeliveries } from './delivery-reconcile.js';
import type { ReceivedDelivery } from './webhook-receiver.js';

function receipt(
  webhookId: string,
  answer: ReceivedDelivery['answer'],
  options: { answered?: boolean; verified?: boolean } = {},
): ReceivedDelivery {
  return {
    webhookId,
    timestamp: '0',
    signature: 'v1,x',
    rawBody: '{}',
    headers: {},
    path: '/hook',
    verified: options.verified ?? true,
    at: 0,
    answer,
    answered: options.answered ?? typeof answer === 'number',
  };
}

describe('classifyDeliveries: stored events held against what the subscriber received', () => {
  it('each stored event acknowledged once: nothing flagged', () => {
    expect(
      classifyDeliveries(new Set(['msg_a', 'msg_b']), [
        receipt('msg_a', 200),
        receipt('msg_b', 204),
      ]),
    ).toEqual({ stored: 2, missing: [], duplicates: 0, unknown: [], unverified: 0 });
  });

  it('retried after a refusal, then accepted: not missing, not a duplicate', () => {
    const result = classifyDeliveries(new Set(['msg_a']), [
      receipt('msg_a', 503),
      receipt('msg_a', 'reset'),
      receipt('msg_a', 200),
    ]);
    expect(result).toMatchObject({ missing: [], duplicates: 0 });
  });

  it('accepted twice (the sender never read the first answer): one duplicate', () => {
    const result = classifyDeliveries(new Set(['msg_a']), [
      receipt('msg_a', 200, { answered: false }),
      receipt('msg_a', 200),
    ]);
    expect(result).toMatchObject({ missing: [], duplicates: 1 });
  });

  it('received but never acknowledged (answer unwritten, refused, or still open) is missing', () => {
    const result = classifyDeliveries(new Set(['msg_a', 'msg_b', 'msg_c', 'msg_d']), [
      receipt('msg_a', 200, { answered: false }),
      receipt('msg_b', 503),
      receipt('msg_c', undefined),
    ]);
    expect(result.missing).toEqual(['msg_a', 'msg_b', 'msg_c', 'msg_d']);
  });

  it('an unknown webhook-id and an unverified receipt are reported, not counted', () => {
    const result = classifyDeliveries(new Set(['msg_a']), [
      receipt('msg_a', 200),
      receipt('msg_z', 200),
      receipt('msg_a', 400, { verified: false }),
    ]);
    expect(result).toEqual({
      stored: 1,
      missing: [],
      duplicates: 0,
      unknown: ['msg_z'],
      unverified: 1,
    });
  });
});
