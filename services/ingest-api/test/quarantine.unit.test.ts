import { randomBytes, randomUUID } from 'node:crypto';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { RejectedRequestHeader, withoutCredentials } from '@webhooks/contracts';
import { WebhookSources } from '@webhooks/providers';
import type { OutgoingMessage } from '@webhooks/queue';
import { afterEach, describe, expect, it } from 'vitest';
import { metricValue } from '../../../test/helpers/prometheus.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { buildApp } from '../src/app.js';
import type { EventPublisher } from '../src/event-publisher.js';
import { IngestMetrics } from '../src/metrics.js';
import { type Quarantine, queueQuarantine, type RejectedRequest } from '../src/quarantine.js';

const SECRET = randomBytes(20).toString('hex');
const SOURCES = WebhookSources.parse({ github: { scheme: 'github', secret: SECRET } });

const publisher: EventPublisher = { ready: true, publish: async () => {} };
let app: ReturnType<typeof buildApp> | undefined;
afterEach(() => app?.close());

function start(
  quarantine: Quarantine,
  metrics = new IngestMetrics({ brokerConnected: () => true }),
) {
  app = buildApp({
    publisher,
    logger: testLogger(),
    maxBodyBytes: 65_536,
    retryAfterSeconds: 5,
    metrics,
    providerSources: { sources: SOURCES, allowUnknown: false },
    quarantine,
  });
  return { app, metrics };
}

const github = async (options: { secret: string; body: string }) => ({
  'content-type': 'application/json',
  'x-github-event': 'push',
  'x-github-delivery': randomUUID(),
  'x-hub-signature-256': await signGithub(options.secret, options.body),
});

describe('what the provider route hands to the quarantine', () => {
  it('keeps 401s and 404s with their raw bytes and reason, and nothing else', async () => {
    const kept: RejectedRequest[] = [];
    const { app } = start({ keep: (request) => kept.push(request) });
    // Bytes a re-serialisation would change: the signature covers exactly these.
    const body = '{ "ref" : "refs/heads/main",\n  "n": 1.50 }';
    const post = (url: string, payload: string, headers: Record<string, string>) =>
      app.inject({ method: 'POST', url, headers, payload });

    const forged = await post('/webhook/github', body, await github({ secret: 'nope', body }));
    expect(forged.statusCode).toBe(401);
    const unknown = await post('/webhook/elsewhere', body, { 'content-type': 'application/json' });
    expect(unknown.statusCode).toBe(404);
    const signed = await post('/webhook/github', body, await github({ secret: SECRET, body }));
    expect(signed.statusCode).toBe(200);
    const notJson = await post('/webhook/github', '{', await github({ secret: SECRET, body: '{' }));
    expect(notJson.statusCode).toBe(400);

    expect(kept.map(({ source, reason, detail }) => ({ source, reason, detail }))).toEqual([
      { source: 'github', reason: 'invalid_signature', detail: 'signature_mismatch' },
      { source: 'elsewhere', reason: 'unknown_source', detail: undefined },
    ]);
    for (const request of kept) {
      expect(request.rawBody.equals(Buffer.from(body))).toBe(true);
      expect(request.requestId).toBeTruthy();
    }
  });

  it('answers 401 at once when keeping fails or hangs, bounding what is pending', async () => {
    const hanging: Array<(error: Error) => void> = [];
    const metrics = new IngestMetrics({ brokerConnected: () => true });
    const quarantine = queueQuarantine({
      // The broker never confirms (and, later, refuses): the answers must not notice.
      publish: () => new Promise<void>((_resolve, reject) => hanging.push(reject)),
      queue: 'q_rejected',
      maxInFlight: 3,
      metrics,
      logger: testLogger(),
    });
    const { app } = start(quarantine, metrics);
    const body = '{"ref":"x"}';
    for (let n = 0; n < 5; n++) {
      const answer = await app.inject({
        method: 'POST',
        url: '/webhook/github',
        headers: await github({ secret: 'wrong', body }),
        payload: body,
      });
      expect(answer.statusCode).toBe(401);
      expect(answer.json()).toEqual({ error: 'invalid_signature' });
    }
    expect(hanging).toHaveLength(3);
    for (const reject of hanging) reject(new Error('nack'));
    await new Promise((resolve) => setImmediate(resolve));
    const text = await metrics.registry.metrics();
    expect(metricValue(text, 'rejected_requests_quarantined_total', { outcome: 'busy' })).toBe(2);
    expect(metricValue(text, 'rejected_requests_quarantined_total', { outcome: 'failed' })).toBe(3);
  });

  it('publishes the body as content and the rest as headers, credentials removed', async () => {
    const sent: OutgoingMessage[] = [];
    const quarantine = queueQuarantine({
      publish: async (message) => {
        sent.push(message);
      },
      queue: 'q_rejected',
      maxInFlight: 10,
      metrics: new IngestMetrics({ brokerConnected: () => true }),
      logger: testLogger(),
    });
    quarantine.keep({
      source: 'github',
      reason: 'invalid_signature',
      detail: 'signature_mismatch',
      rawBody: Buffer.from([0xff, 0x00, 0x7b]),
      headers: { 'x-hub-signature-256': 'sha256=ab', authorization: 'Bearer t', cookie: 'c=1' },
      receivedAtMs: Date.parse('2026-03-04T05:06:07.890Z'),
      requestId: 'req-1',
    });
    const [message] = sent;
    expect(message?.routingKey).toBe('q_rejected');
    expect(message?.body).toEqual(Buffer.from([0xff, 0x00, 0x7b]));
    expect(message?.properties.headers).toMatchObject({
      [RejectedRequestHeader.source]: 'github',
      [RejectedRequestHeader.reason]: 'invalid_signature',
      [RejectedRequestHeader.receivedAt]: '2026-03-04T05:06:07.890Z',
      [RejectedRequestHeader.httpHeaders]: '{"x-hub-signature-256":"sha256=ab"}',
    });
  });
});

describe('withoutCredentials', () => {
  it('drops authorization, cookies and token-like headers, and keeps signatures', () => {
    expect(
      withoutCredentials({
        Authorization: 'Basic x',
        'proxy-authorization': 'x',
        cookie: 'a=b',
        'set-cookie': ['a=b'],
        'x-api-key': 'k',
        'x-auth-token': 't',
        'x-amz-security-token': 't',
        'x-client-secret': 's',
        'x-session-id': 's',
        'x-hub-signature-256': 'sha256=00',
        'stripe-signature': 't=1,v1=00',
        'webhook-signature': 'v1,AA==',
        'webhook-id': 'msg_1',
        'user-agent': 'GitHub-Hookshot/1',
        absent: undefined,
      }),
    ).toEqual({
      'x-hub-signature-256': 'sha256=00',
      'stripe-signature': 't=1,v1=00',
      'webhook-signature': 'v1,AA==',
      'webhook-id': 'msg_1',
      'user-agent': 'GitHub-Hookshot/1',
    });
  });

  it('keeps a header named __proto__ as a plain key', () => {
    const kept = withoutCredentials(JSON.parse('{"__proto__":"x","a":"b"}'));
    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
    expect(Object.keys(kept)).toEqual(['__proto__', 'a']);
  });
});
