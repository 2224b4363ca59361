import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type ReceivedDelivery,
  type ReceiverAnswer,
  unusedUrl,
  WebhookReceiver,
} from '../../../test/helpers/webhook-receiver.js';
import { deliveryHeaders } from '../src/delivery/delivery-headers.js';
import { DestinationPolicy } from '../src/delivery/destination-policy.js';
import { type AttemptRequest, DeliverySender } from '../src/delivery/send-attempt.js';

const SECRET = `whsec_${Buffer.from('delivery-send-test-secret-00001').toString('base64')}`;
const OLD_SECRET = `whsec_${Buffer.from('delivery-send-test-secret-old01').toString('base64')}`;
const BODY = '{"id":"evt_1","source":"github","type":"push","data":{"n":12345678901234567890}}';

const sender = new DeliverySender({ policy: new DestinationPolicy() });
const receivers: WebhookReceiver[] = [];
const senders: DeliverySender[] = [sender];

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});
afterAll(() => {
  for (const each of senders) each.close();
});

async function receiver(
  respond?: (delivery: ReceivedDelivery) => ReceiverAnswer | Promise<ReceiverAnswer>,
  secrets: readonly string[] = [SECRET],
): Promise<WebhookReceiver> {
  const started = await WebhookReceiver.start(
    respond === undefined ? { secrets } : { secrets, respond },
  );
  receivers.push(started);
  return started;
}

function senderWith(allowedNetworks: string[]): DeliverySender {
  const created = new DeliverySender({ policy: new DestinationPolicy({ allowedNetworks }) });
  senders.push(created);
  return created;
}

/** One signed attempt of `BODY` to `url`. */
function attemptTo(
  url: string,
  { secrets = [SECRET], timeoutMs = 5000, id = 'msg_1' } = {},
): AttemptRequest {
  return {
    url,
    body: BODY,
    headers: deliveryHeaders({ webhookId: id, body: BODY, secrets }),
    timeoutMs,
  };
}

describe('a delivery attempt answered', () => {
  it('2xx is delivered, signed so the standardwebhooks library verifies it, body exact', async () => {
    const target = await receiver(() => ({ status: 204 }));
    const outcome = await sender.send(attemptTo(target.url));
    expect(outcome).toMatchObject({ delivered: true, httpStatus: 204, responseBody: '' });
    expect(outcome.error).toBeUndefined();
    const [delivery] = target.received;
    expect(delivery).toMatchObject({ verified: true, webhookId: 'msg_1', rawBody: BODY });
    expect(delivery?.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'webhook-pipeline',
      'content-length': String(Buffer.byteLength(BODY)),
    });
  });

  it('during a rotation verifies at receivers holding either secret alone', async () => {
    const withNew = await receiver(undefined, [SECRET]);
    const withOld = await receiver(undefined, [OLD_SECRET]);
    const rotation = { secrets: [SECRET, OLD_SECRET] };
    expect((await sender.send(attemptTo(withNew.url, rotation))).delivered).toBe(true);
    expect((await sender.send(attemptTo(withOld.url, rotation))).delivered).toBe(true);
    // Signed with the new secret only, a receiver still on the old one refuses it.
    const refused = await sender.send(attemptTo(withOld.url));
    expect(refused).toMatchObject({ delivered: false, httpStatus: 400 });
    expect(withOld.received.map((delivery) => delivery.verified)).toEqual([true, false]);
  });

  it('500 or 429 is not delivered; the status, the answer and Retry-After are kept', async () => {
    const answers: ReceiverAnswer[] = [
      { status: 500, body: 'database down' },
      { status: 429, headers: { 'retry-after': '120' }, body: '{"error":"slow down"}' },
    ];
    const target = await receiver(() => answers.shift() ?? 200);
    const failing = await sender.send(attemptTo(target.url));
    expect(failing).toMatchObject({
      delivered: false,
      httpStatus: 500,
      responseBody: 'database down',
    });
    expect(failing.retryAfter).toBeUndefined();
    expect(await sender.send(attemptTo(target.url))).toMatchObject({
      delivered: false,
      httpStatus: 429,
      responseBody: '{"error":"slow down"}',
      retryAfter: '120',
    });
  });

  it('with 100 KiB keeps only its first KiB, without cutting a character', async () => {
    // 'é' is two bytes: the 1024th byte would be half of one.
    const big = `a${'é'.repeat(50 * 1024)}`;
    const target = await receiver(() => ({ status: 500, body: big }));
    const outcome = await sender.send(attemptTo(target.url));
    expect(outcome).toMatchObject({ delivered: false, httpStatus: 500 });
    expect(outcome.responseBody).toBe(`a${'é'.repeat(511)}`);
    expect(Buffer.byteLength(outcome.responseBody ?? '')).toBe(1023);
  });

  it('302 is not delivered and the redirect is never followed', async () => {
    const elsewhere = await receiver();
    const target = await receiver(() => ({ status: 302, headers: { location: elsewhere.url } }));
    expect(await sender.send(attemptTo(target.url))).toMatchObject({
      delivered: false,
      httpStatus: 302,
    });
    expect(target.received).toHaveLength(1);
    expect(elsewhere.connections).toBe(0);
  });

  it('reuses one kept-alive connection for attempts one after another', async () => {
    const target = await receiver();
    for (const id of ['msg_k1', 'msg_k2', 'msg_k3']) {
      expect((await sender.send(attemptTo(target.url, { id }))).delivered).toBe(true);
    }
    expect(target.uniqueIds()).toEqual(new Set(['msg_k1', 'msg_k2', 'msg_k3']));
    expect(target.connections).toBe(1);
  });
});

describe('a delivery attempt without an answer', () => {
  it('times out after timeoutMs when the destination hangs', async () => {
    const target = await receiver(() => 'hang');
    const outcome = await sender.send(attemptTo(target.url, { timeoutMs: 300 }));
    expect(outcome).toMatchObject({ delivered: false, error: 'timeout after 300 ms' });
    expect(outcome.httpStatus).toBeUndefined();
    expect(outcome.durationMs).toBeGreaterThanOrEqual(295);
    expect(outcome.durationMs).toBeLessThan(2000);
  });

  it('fails with ECONNRESET when the destination resets the connection', async () => {
    const target = await receiver(() => 'reset');
    const outcome = await sender.send(attemptTo(target.url));
    expect(outcome.delivered).toBe(false);
    expect(outcome.error).toMatch(/ECONNRESET/);
    expect(outcome.httpStatus).toBeUndefined();
  });

  it('fails with ECONNREFUSED when nothing listens', async () => {
    const outcome = await sender.send(attemptTo(await unusedUrl()));
    expect(outcome.delivered).toBe(false);
    expect(outcome.error).toMatch(/ECONNREFUSED/);
  });

  it('fails with the resolver error when the name does not resolve', async () => {
    const outcome = await sender.send(attemptTo('http://no-such-host.invalid/hook'));
    expect(outcome.delivered).toBe(false);
    expect(outcome.error).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });

  it('ends as not delivered when aborted, or when the sender closes under it', async () => {
    const target = await receiver(() => 'hang');
    const controller = new AbortController();
    const aborted = sender.send({ ...attemptTo(target.url), signal: controller.signal });
    await target.waitForCount(1);
    controller.abort();
    expect(await aborted).toMatchObject({ delivered: false, error: 'aborted' });

    const closing = senderWith(['127.0.0.0/8']);
    const inFlight = closing.send(attemptTo(target.url, { timeoutMs: 20_000 }));
    await target.waitForCount(2);
    closing.close();
    closing.close();
    const ended = await inFlight;
    expect(ended.delivered).toBe(false);
    expect(ended.error).toMatch(/ECONNRESET/);
    expect(await closing.send(attemptTo(target.url))).toMatchObject({
      delivered: false,
      error: 'the sender is closed',
    });
  });

  it('is refused, without connecting, for a URL that is not http(s)', async () => {
    expect((await sender.send(attemptTo('ftp://127.0.0.1/hook'))).error).toMatch(
      /ERR_INVALID_PROTOCOL/,
    );
    expect((await sender.send(attemptTo('not a url'))).error).toMatch(/ERR_INVALID_URL/);
  });
});

describe('destinations', () => {
  it('refuses the metadata address and its IPv4-mapped forms before connecting', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/',
      'http://[fe80::1]:8080/',
    ]) {
      // Nothing answers there: a connection attempt would end in a timeout, not a refusal.
      const outcome = await sender.send(attemptTo(url, { timeoutMs: 3000 }));
      expect(outcome.delivered, url).toBe(false);
      expect(outcome.error, url).toMatch(/^DESTINATION_REFUSED: .* is a link-local address/);
      expect(outcome.durationMs, url).toBeLessThan(1000);
    }
  });

  it('checks the resolved address: localhost (127.0.0.1) is refused outside 10.0.0.0/8', async () => {
    const target = await receiver();
    const url = target.url.replace('127.0.0.1', 'localhost');
    const outcome = await senderWith(['10.0.0.0/8']).send(attemptTo(url));
    expect(outcome).toMatchObject({ delivered: false });
    expect(outcome.error).toBe(
      'DESTINATION_REFUSED: localhost resolves to 127.0.0.1, outside the allowed networks (10.0.0.0/8)',
    );
    expect(target.connections).toBe(0);

    expect(await senderWith(['127.0.0.0/8']).send(attemptTo(url))).toMatchObject({
      delivered: true,
      httpStatus: 200,
    });
    expect(target.uniqueIds()).toEqual(new Set(['msg_1']));
  });

  it('refuses an IP literal outside the allowed list without connecting', async () => {
    const target = await receiver();
    const outcome = await senderWith(['10.0.0.0/8']).send(attemptTo(target.url));
    expect(outcome.error).toBe(
      'DESTINATION_REFUSED: 127.0.0.1 is outside the allowed networks (10.0.0.0/8)',
    );
    expect(target.connections).toBe(0);
  });
});
