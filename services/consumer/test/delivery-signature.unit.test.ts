import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { deliveryHeaders } from '../src/delivery/delivery-headers.js';
import { InvalidSecretError, signWebhook } from '../src/delivery/webhook-signature.js';

const OLD_SECRET = `whsec_${Buffer.from('the-secret-before-rotation-0001').toString('base64')}`;
const NEW_SECRET = `whsec_${Buffer.from('the-secret-after-rotation-00002').toString('base64')}`;
const BODY = '{"id":"evt_1","source":"stripe","data":{"amount":12345678901234567890}}';

/** Verifies with the `standardwebhooks` library as published; throws when it refuses. */
function verify(secret: string, body: string, headers: Record<string, string>): void {
  new Webhook(secret).verify(body, headers, { jsonParse: false });
}

describe('signWebhook', () => {
  it('matches the example of the Standard Webhooks specification', () => {
    expect(
      signWebhook({
        webhookId: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
        timestampSeconds: 1614265330,
        body: '{"test": 2432232314}',
        secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
      }),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('makes headers the library verifies, and refuses once the body changes', () => {
    const headers = deliveryHeaders({ webhookId: 'msg_a', body: BODY, secrets: [NEW_SECRET] });
    verify(NEW_SECRET, BODY, headers);
    expect(() => verify(NEW_SECRET, BODY.replace('0}', '1}'), headers)).toThrow(
      /No matching signature/,
    );
    expect(() => verify(OLD_SECRET, BODY, headers)).toThrow(/No matching signature/);
  });

  it('signs with every secret during a rotation: each one alone verifies', () => {
    const headers = deliveryHeaders({
      webhookId: 'msg_b',
      body: BODY,
      secrets: [NEW_SECRET, OLD_SECRET],
    });
    const signatures = headers['webhook-signature']?.split(' ') ?? [];
    expect(signatures).toHaveLength(2);
    expect(signatures.every((signature) => /^v1,[A-Za-z0-9+/]{43}=$/.test(signature))).toBe(true);
    verify(NEW_SECRET, BODY, headers);
    verify(OLD_SECRET, BODY, headers);
    // Each signature is its own secret's: the new one alone verifies with the new secret only.
    const newOnly = { ...headers, 'webhook-signature': signatures[0] ?? '' };
    verify(NEW_SECRET, BODY, newOnly);
    expect(() => verify(OLD_SECRET, BODY, newOnly)).toThrow(/No matching signature/);
  });

  it('refuses to sign with no secret or a secret holding no key', () => {
    const sign = (secrets: string[]) =>
      signWebhook({ webhookId: 'msg_c', timestampSeconds: 1, body: '{}', secrets });
    expect(() => sign([])).toThrow(InvalidSecretError);
    expect(() => sign(['whsec_'])).toThrow(InvalidSecretError);
  });
});

describe('deliveryHeaders', () => {
  it('carries the Standard Webhooks headers, JSON and the product as user agent', () => {
    expect(
      deliveryHeaders({
        webhookId: 'msg_d',
        body: '{}',
        secrets: [NEW_SECRET],
        nowMs: 1_766_000_000_999,
      }),
    ).toEqual({
      'content-type': 'application/json',
      'user-agent': 'webhook-pipeline',
      'webhook-id': 'msg_d',
      'webhook-timestamp': '1766000000',
      'webhook-signature': signWebhook({
        webhookId: 'msg_d',
        timestampSeconds: 1_766_000_000,
        body: '{}',
        secrets: [NEW_SECRET],
      }),
    });
  });
});
