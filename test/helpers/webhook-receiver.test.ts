import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { type ReceiverAnswer, unusedUrl, WebhookReceiver } from './webhook-receiver.js';

const SECRET = `whsec_${Buffer.from('receiver-test-secret-0123456789').toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.from('some-other-secret-abcdefghijklm').toString('base64')}`;

let receiver: WebhookReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

/** A POST signed by the library itself, so the receiver is checked independently of our signer. */
function post(url: string, { id = 'msg_1', secret = SECRET, body = '{"a":1}' } = {}) {
  const now = new Date();
  return fetch(url, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, now, body),
    },
    redirect: 'manual',
  });
}

describe('WebhookReceiver', () => {
  it('records a delivery the library verifies and answers 200', async () => {
    receiver = await WebhookReceiver.start({ secrets: [SECRET] });
    const response = await post(receiver.url, { body: '{"n":12345678901234567890}' });
    expect(response.status).toBe(200);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]).toMatchObject({
      webhookId: 'msg_1',
      rawBody: '{"n":12345678901234567890}',
      verified: true,
      answer: 200,
      path: '/hook',
    });
    expect(receiver.uniqueIds()).toEqual(new Set(['msg_1']));
  });

  it('answers 400 to a signature no secret verifies, and does not count it', async () => {
    receiver = await WebhookReceiver.start({ secrets: () => [SECRET] });
    const response = await post(receiver.url, { secret: OTHER_SECRET });
    expect(response.status).toBe(400);
    expect(receiver.received[0]).toMatchObject({ verified: false, answer: 400 });
    expect(receiver.uniqueIds().size).toBe(0);
  });

  it('answers what respond chooses: statuses with headers and bodies', async () => {
    const answers: ReceiverAnswer[] = [500, { status: 302, headers: { location: '/x' } }];
    receiver = await WebhookReceiver.start({
      secrets: [SECRET],
      respond: () => answers.shift() ?? 200,
    });
    expect((await post(receiver.url, { id: 'msg_a' })).status).toBe(500);
    const redirect = await post(receiver.url, { id: 'msg_b' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([302, '/x']);
    expect(receiver.uniqueIds().size).toBe(0);
  });

  it('resets or hangs on request, and close() ends hanging connections (twice is fine)', async () => {
    const answers: ReceiverAnswer[] = ['reset', 'hang'];
    receiver = await WebhookReceiver.start({
      secrets: [SECRET],
      respond: () => answers.shift() ?? 200,
    });
    await expect(post(receiver.url)).rejects.toThrow();
    const hanging = post(receiver.url, { id: 'msg_hang' });
    const outcome = hanging.then(
      () => 'answered',
      () => 'failed',
    );
    await receiver.waitForCount(2, 5000);
    await Promise.all([receiver.close(), receiver.close()]);
    expect(await outcome).toBe('failed');
    expect(receiver.received.map((d) => d.answer)).toEqual(['reset', 'hang']);
  });

  it('waitForCount fails after its deadline, and unusedUrl refuses connections', async () => {
    receiver = await WebhookReceiver.start({ secrets: [SECRET] });
    await expect(receiver.waitForCount(1, 50)).rejects.toThrow(/1 deliveries; got 0/);
    await expect(post(await unusedUrl())).rejects.toThrow();
  });
});
