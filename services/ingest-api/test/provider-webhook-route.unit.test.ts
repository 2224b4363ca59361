import { randomBytes, randomUUID } from 'node:crypto';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { stringifyExactJson } from '@webhooks/contracts';
import type { ProviderSources } from '@webhooks/providers';
import { WebhookSources } from '@webhooks/providers';
import { QueueUnavailableError } from '@webhooks/queue';
import type { Logger } from 'pino';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakePublisher } from '../../../test/helpers/fake-publisher.js';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { buildApp } from '../src/app.js';
import { IngestMetrics } from '../src/metrics.js';
import type { RejectedRequest } from '../src/quarantine.js';

const MAX_BODY_BYTES = 8192;
const standardSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const stripeSecret = () => `whsec_${randomBytes(16).toString('hex')}`;
const githubSecret = () => randomBytes(20).toString('hex');

/**
 * Current and previous secret of each provider, one nobody configured, and the secret of
 * another source of the same scheme (`<source>-neighbour`).
 */
const SECRETS = {
  standard: {
    current: standardSecret(),
    previous: standardSecret(),
    stranger: standardSecret(),
    neighbour: standardSecret(),
  },
  github: {
    current: githubSecret(),
    previous: githubSecret(),
    stranger: githubSecret(),
    neighbour: githubSecret(),
  },
  stripe: {
    current: stripeSecret(),
    previous: stripeSecret(),
    stranger: stripeSecret(),
    neighbour: stripeSecret(),
  },
};

/** Parsed by the schema `WEBHOOK_SOURCES` is read with, so the test sees the normalised config. */
const SOURCES = WebhookSources.parse({
  acme: { scheme: 'standard', secret: SECRETS.standard.current },
  'acme-rotating': {
    scheme: 'standard',
    secrets: [SECRETS.standard.current, SECRETS.standard.previous],
  },
  github: { scheme: 'github', secret: SECRETS.github.current },
  'github-rotating': {
    scheme: 'github',
    secrets: [SECRETS.github.current, SECRETS.github.previous],
  },
  stripe: { scheme: 'stripe', secret: SECRETS.stripe.current },
  'stripe-rotating': {
    scheme: 'stripe',
    secrets: [SECRETS.stripe.current, SECRETS.stripe.previous],
  },
  'acme-neighbour': { scheme: 'standard', secret: SECRETS.standard.neighbour },
  'github-neighbour': { scheme: 'github', secret: SECRETS.github.neighbour },
  'stripe-neighbour': { scheme: 'stripe', secret: SECRETS.stripe.neighbour },
  plain: { scheme: 'none' },
});

let publisher: FakePublisher;
let app: ReturnType<typeof buildApp>;
/** What the app handed to its quarantine. */
let kept: RejectedRequest[];

function startApp(
  providerSources: ProviderSources = { sources: SOURCES, allowUnknown: false },
  logger: Logger = testLogger(),
) {
  publisher = new FakePublisher();
  kept = [];
  app = buildApp({
    publisher,
    logger,
    maxBodyBytes: MAX_BODY_BYTES,
    retryAfterSeconds: 7,
    metrics: new IngestMetrics({ brokerConnected: () => true }),
    providerSources,
    quarantine: { keep: (request) => kept.push(request) },
  });
}

beforeEach(() => startApp());
afterEach(() => app.close());

const post = (url: string, body: string | undefined, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { payload: body }),
  });

interface SignOptions {
  secret: string;
  body: string;
  /** When the signature was made; now by default. */
  atMs?: number;
  /** The provider's delivery id. */
  id: string;
}

/** One provider: how its own library signs, and what our event should be made of. */
interface Provider {
  scheme: 'standard' | 'github' | 'stripe';
  /** The configured source with one secret (`<source>-rotating` has two). */
  source: string;
  /** A realistic body, pretty-printed: re-serialising it would change the signed bytes. */
  body(id: string): string;
  sign(options: SignOptions): Promise<Record<string, string>>;
  /** What the stored event's type and timestamp must be for `body(id)`. */
  expected: { type: string; timestamp: string | 'receivedAt' };
  /** Headers without which the signature cannot be checked. */
  signatureHeaders: string[];
  /** Whether the signature covers a timestamp (and so has a tolerance). */
  timestamped: boolean;
}

const PROVIDERS: Provider[] = [
  {
    scheme: 'standard',
    source: 'acme',
    body: () =>
      JSON.stringify(
        {
          type: 'invoice.paid',
          timestamp: '2026-01-02T03:04:05Z',
          data: { invoice: 'in_1', amount: 1999 },
        },
        null,
        2,
      ),
    sign: async ({ secret, body, atMs, id }) => {
      const at = new Date(atMs ?? Date.now());
      return {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': new StandardWebhook(secret).sign(id, at, body),
      };
    },
    expected: { type: 'invoice.paid', timestamp: '2026-01-02T03:04:05Z' },
    signatureHeaders: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
    timestamped: true,
  },
  {
    scheme: 'github',
    source: 'github',
    body: () =>
      JSON.stringify(
        { ref: 'refs/heads/main', repository: { full_name: 'acme/app' }, pusher: { name: 'ada' } },
        null,
        2,
      ),
    sign: async ({ secret, body, id }) => ({
      'x-github-event': 'push',
      'x-github-delivery': id,
      'x-hub-signature-256': await signGithub(secret, body),
    }),
    expected: { type: 'push', timestamp: 'receivedAt' },
    signatureHeaders: ['x-hub-signature-256'],
    timestamped: false,
  },
  {
    scheme: 'stripe',
    source: 'stripe',
    body: (id) =>
      JSON.stringify(
        {
          id,
          object: 'event',
          type: 'payment_intent.succeeded',
          created: 1_767_225_600,
          data: { object: { id: 'pi_1', amount: 2000 } },
        },
        null,
        2,
      ),
    sign: async ({ secret, body, atMs }) => ({
      'stripe-signature': Stripe.webhooks.generateTestHeaderString({
        payload: body,
        secret,
        timestamp: Math.floor((atMs ?? Date.now()) / 1000),
      }),
    }),
    expected: { type: 'payment_intent.succeeded', timestamp: '2026-01-01T00:00:00.000Z' },
    signatureHeaders: ['stripe-signature'],
    timestamped: true,
  },
];

const SIX_MINUTES_MS = 6 * 60_000;

describe.each(PROVIDERS)('POST /webhook/:source, $scheme signatures', (provider) => {
  const secrets = SECRETS[provider.scheme];
  const newId = () => `${provider.scheme}-${randomUUID()}`;

  it("accepts a request signed by the provider's library and publishes the body whole, under the provider's id and type", async () => {
    const id = newId();
    const body = provider.body(id);
    const res = await post(
      `/webhook/${provider.source}`,
      body,
      await provider.sign({ secret: secrets.current, body, id }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'success', id });
    expect(publisher.published).toHaveLength(1);
    const event = publisher.published[0];
    expect(event).toMatchObject({
      id,
      source: provider.source,
      type: provider.expected.type,
      data: JSON.parse(body),
    });
    const timestamp =
      provider.expected.timestamp === 'receivedAt'
        ? event?.receivedAt
        : provider.expected.timestamp;
    expect(event?.timestamp).toBe(timestamp);
  });

  it("publishes a provider's retry of one delivery under the same id, so it is stored once", async () => {
    const id = newId();
    const body = provider.body(id);
    const first = await post(
      `/webhook/${provider.source}`,
      body,
      await provider.sign({ secret: secrets.current, body, id }),
    );
    const retry = await post(
      `/webhook/${provider.source}`,
      body,
      await provider.sign({ secret: secrets.current, body, id, atMs: Date.now() + 1000 }),
    );
    expect([first.statusCode, retry.statusCode]).toEqual([200, 200]);
    expect(publisher.published.map((e) => e.id)).toEqual([id, id]);
  });

  describe('forged or broken signatures: 401, nothing published', () => {
    afterEach(() => expect(publisher.published).toEqual([]));

    const expectRefused = (res: { statusCode: number; json(): unknown }) => {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: 'invalid_signature' });
    };

    it('a tampered body', async () => {
      const id = newId();
      const body = provider.body(id);
      const headers = await provider.sign({ secret: secrets.current, body, id });
      const tampered = `${body.slice(0, -1)}, "amount": 1}`;
      expectRefused(await post(`/webhook/${provider.source}`, tampered, headers));
      // Even a change that keeps the JSON the same: the signature covers the bytes.
      expectRefused(await post(`/webhook/${provider.source}`, `${body}\n`, headers));
    });

    it('a signature made with another secret', async () => {
      const id = newId();
      const body = provider.body(id);
      const headers = await provider.sign({ secret: secrets.stranger, body, id });
      expectRefused(await post(`/webhook/${provider.source}`, body, headers));
    });

    it.each(provider.signatureHeaders)('a missing %s header', async (header) => {
      const id = newId();
      const body = provider.body(id);
      const headers = await provider.sign({ secret: secrets.current, body, id });
      delete headers[header];
      expectRefused(await post(`/webhook/${provider.source}`, body, headers));
    });

    it('no signature at all, even with a body that is not JSON', async () => {
      expectRefused(await post(`/webhook/${provider.source}`, provider.body(newId())));
      expectRefused(await post(`/webhook/${provider.source}`, '{not json'));
    });

    it.each(provider.signatureHeaders)('a malformed %s header', async (header) => {
      const id = newId();
      const body = provider.body(id);
      const headers = await provider.sign({ secret: secrets.current, body, id });
      headers[header] = 'garbage';
      expectRefused(await post(`/webhook/${provider.source}`, body, headers));
    });
  });

  it('refuses a request signed with the secret of another source of the same scheme', async () => {
    const id = newId();
    const body = provider.body(id);
    const headers = await provider.sign({ secret: secrets.neighbour, body, id });
    const refused = await post(`/webhook/${provider.source}`, body, headers);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual({ error: 'invalid_signature' });
    // Refused for the secret, not for a missing or malformed header: the very same request
    // is accepted by the source whose secret signed it.
    expect(kept.map(({ source, detail }) => ({ source, detail }))).toEqual([
      { source: provider.source, detail: 'signature_mismatch' },
    ]);
    const accepted = await post(`/webhook/${provider.source}-neighbour`, body, headers);
    expect(accepted.statusCode).toBe(200);
    expect(publisher.published.map((e) => e.source)).toEqual([`${provider.source}-neighbour`]);
  });

  it('rotation: with two secrets configured, either verifies, a third does not', async () => {
    const url = `/webhook/${provider.source}-rotating`;
    const statuses = [];
    for (const secret of [secrets.current, secrets.previous, secrets.stranger]) {
      const id = newId();
      const body = provider.body(id);
      statuses.push((await post(url, body, await provider.sign({ secret, body, id }))).statusCode);
    }
    expect(statuses).toEqual([200, 200, 401]);
    expect(publisher.published.map((e) => e.source)).toEqual([
      `${provider.source}-rotating`,
      `${provider.source}-rotating`,
    ]);
  });
});

describe('POST /webhook/:source, provider conventions', () => {
  const signedGithub = async (body: string, headers: Record<string, string> = {}) =>
    post('/webhook/github', body, {
      'x-github-event': 'ping',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': await signGithub(SECRETS.github.current, body),
      ...headers,
    });

  it('400 naming the header when a signed GitHub request has no X-GitHub-Event or X-GitHub-Delivery', async () => {
    const body = JSON.stringify({ zen: 'Keep it logically awesome.' });
    const res = await app.inject({
      method: 'POST',
      url: '/webhook/github',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': await signGithub(SECRETS.github.current, body),
      },
      payload: body,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: 'validation_failed',
      issues: [
        { path: 'header:x-github-delivery', message: 'required' },
        { path: 'header:x-github-event', message: 'required' },
      ],
    });
    expect(publisher.published).toEqual([]);
  });

  it('400 naming the field when a signed Stripe event has no id or a blank type', async () => {
    const body = JSON.stringify({ object: 'event', type: '  ' });
    const res = await post('/webhook/stripe', body, {
      'stripe-signature': Stripe.webhooks.generateTestHeaderString({
        payload: body,
        secret: SECRETS.stripe.current,
      }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues.map((i: { path: string }) => i.path)).toEqual(['id', 'type']);
  });

  it('400 when a signed Standard Webhooks body has no type', async () => {
    const body = JSON.stringify({ data: {} });
    const at = new Date();
    const res = await post('/webhook/acme', body, {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new StandardWebhook(SECRETS.standard.current).sign('msg_1', at, body),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues).toEqual([{ path: 'type', message: 'required' }]);
  });

  it('signed but not a JSON object: 400 validation_failed; signed but not JSON: 400 invalid_payload', async () => {
    const notObject = await signedGithub('[1,2]');
    expect(notObject.statusCode).toBe(400);
    expect(notObject.json().error).toBe('validation_failed');

    const notJson = await signedGithub('{"ref":');
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json()).toMatchObject({
      error: 'invalid_payload',
      message: expect.stringContaining('not valid JSON'),
    });

    const poisoned = await signedGithub('{"a":{"__proto__":{"admin":true}}}');
    expect(poisoned.statusCode).toBe(400);
    expect(poisoned.json().error).toBe('invalid_payload');
    expect(publisher.published).toEqual([]);
  });

  it('unsigned source (scheme none): type and id from the body, numeric ids as text', async () => {
    const res = await post('/webhook/plain', JSON.stringify({ type: 'build.done', id: 42 }));
    expect(res.statusCode).toBe(200);
    expect(res.json().id).toBe('42');
    expect(publisher.published[0]).toMatchObject({
      source: 'plain',
      type: 'build.done',
      id: '42',
      data: { type: 'build.done', id: 42 },
    });
  });

  it('unsigned source: the id from Idempotency-Key, then webhook-id, else a new UUID; the time from the body', async () => {
    const body = JSON.stringify({ type: 't', timestamp: '2026-05-06T07:08:09+02:00' });
    const a = await post('/webhook/plain', body, { 'idempotency-key': 'key-1', 'webhook-id': 'w' });
    const b = await post('/webhook/plain', body, { 'webhook-id': 'wh-2' });
    const c = await post('/webhook/plain', body);
    expect([a.json().id, b.json().id]).toEqual(['key-1', 'wh-2']);
    expect(c.json().id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(publisher.published[0]?.timestamp).toBe('2026-05-06T07:08:09+02:00');
  });

  it('unsigned source: 400 when the body has no type or an unusable id', async () => {
    const res = await post('/webhook/plain', JSON.stringify({ id: { nested: true } }));
    expect(res.statusCode).toBe(400);
    expect(res.json().issues.map((i: { path: string }) => i.path)).toEqual(['id', 'type']);
    expect(publisher.published).toEqual([]);
  });
});

describe("POST /webhook/:source, GitHub's default form encoding", () => {
  const FORM = 'application/x-www-form-urlencoded';
  // Numbers a double would alter, and characters the form encoding escapes (`+`, `&`, `=`,
  // `%`, spaces, new lines, non-ASCII), pretty-printed as GitHub does.
  const json = `{
  "action": "opened",
  "issue": { "id": 12345678901234567890, "score": 1.5e400, "title": "a+b & c=d 100% ünïcödé 🚀" },
  "amount": 1.10
}`;
  /** `json` as the queue message carries it: compact, every number's text as sent. */
  const exactText =
    '{"action":"opened","issue":{"id":12345678901234567890,"score":1.5e400,' +
    '"title":"a+b & c=d 100% ünïcödé 🚀"},"amount":1.10}';
  /** The form body GitHub sends: `payload=<URL-encoded JSON>`, spaces as `+`. */
  const formOf = (payload: string) => new URLSearchParams({ payload }).toString();
  const githubHeaders = async (body: string, id: string, secret = SECRETS.github.current) => ({
    'x-github-event': 'issues',
    'x-github-delivery': id,
    'x-hub-signature-256': await signGithub(secret, body),
  });
  /** The event as published, less the times of receipt (each request has its own). */
  const withoutTimes = ({ timestamp: _t, receivedAt: _r, ...event }: Record<string, unknown>) =>
    event;

  it('publishes a form-encoded delivery signed over the form body exactly as the same delivery sent as JSON', async () => {
    const id = randomUUID();
    const form = formOf(json);
    const asJson = await post('/webhook/github', json, await githubHeaders(json, id));
    const asForm = await post('/webhook/github', form, {
      'content-type': FORM,
      ...(await githubHeaders(form, id)),
    });
    expect([asJson.statusCode, asForm.statusCode]).toEqual([200, 200]);
    expect(asForm.json()).toEqual({ status: 'success', id });
    const [fromJson, fromForm] = publisher.published;
    if (fromJson === undefined || fromForm === undefined) throw new Error('two events expected');
    expect(withoutTimes(fromForm)).toEqual(withoutTimes(fromJson));
    expect(fromForm).toMatchObject({ id, source: 'github', type: 'issues' });
    // Every digit, as sent (toEqual alone would not tell two texts of one double apart).
    expect(stringifyExactJson(fromJson.data)).toBe(exactText);
    expect(stringifyExactJson(fromForm.data)).toBe(exactText);
    expect(kept).toEqual([]);
  });

  it('401 for a bad signature, kept in the quarantine with its content type and form bytes', async () => {
    const form = formOf(json);
    const signedElsewhere = await post('/webhook/github', form, {
      'content-type': FORM,
      ...(await githubHeaders(form, randomUUID(), SECRETS.github.stranger)),
    });
    // Signed over the JSON rather than the form body as sent: refused too.
    const signedOverJson = await post('/webhook/github', form, {
      'content-type': FORM,
      ...(await githubHeaders(json, randomUUID())),
    });
    for (const res of [signedElsewhere, signedOverJson]) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: 'invalid_signature' });
    }
    expect(publisher.published).toEqual([]);
    expect(kept).toHaveLength(2);
    for (const request of kept) {
      expect(request).toMatchObject({
        source: 'github',
        reason: 'invalid_signature',
        detail: 'signature_mismatch',
      });
      expect(request.headers['content-type']).toBe(FORM);
      expect(request.rawBody.toString('utf8')).toBe(form);
    }
  });

  it.each([
    ['no payload field', 'zen=hello', 'form body has no payload field'],
    ['two payload fields', `${formOf('{}')}&${formOf('{}')}`, 'more than one payload field'],
    ['a malformed % escape', 'payload=%7B%ZZ%7D', 'malformed % escape'],
    ['a payload that is not JSON', formOf('{"action":'), 'the payload field is not valid JSON'],
    ['an empty payload', 'payload=', 'the payload field is empty'],
    ['a payload that is not UTF-8', 'payload=%7B%22a%22%3A%22%FF%22%7D', 'not valid UTF-8'],
  ])('400 invalid_payload for a signed form body with %s', async (_case, form, message) => {
    const res = await post('/webhook/github', form, {
      'content-type': FORM,
      ...(await githubHeaders(form, randomUUID())),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'invalid_payload', message: expect.any(String) });
    expect(res.json().message).toContain(message);
    expect(publisher.published).toEqual([]);
    expect(kept).toEqual([]);
  });

  it('400 validation_failed for a signed form payload that is JSON but not an object', async () => {
    const form = formOf('[1,2]');
    const res = await post('/webhook/github', form, {
      'content-type': FORM,
      ...(await githubHeaders(form, randomUUID())),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('validation_failed');
  });

  it('413 payload_too_large for a form body over MAX_BODY_BYTES, before any check', async () => {
    const form = formOf(JSON.stringify({ big: 'x'.repeat(MAX_BODY_BYTES) }));
    const res = await post('/webhook/github', form, { 'content-type': FORM });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: 'payload_too_large' });
    expect(kept).toEqual([]);
  });

  it('415 for a form body to any source that is not a GitHub one, signed or not, kept nowhere', async () => {
    const form = formOf(JSON.stringify({ type: 't', id: 'f-1' }));
    const at = new Date();
    const signed: Array<[string, Record<string, string>]> = [
      [
        'acme',
        {
          'webhook-id': 'msg_f',
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': new StandardWebhook(SECRETS.standard.current).sign(
            'msg_f',
            at,
            form,
          ),
        },
      ],
      [
        'stripe',
        {
          'stripe-signature': Stripe.webhooks.generateTestHeaderString({
            payload: form,
            secret: SECRETS.stripe.current,
          }),
        },
      ],
      ['plain', {}],
      ['nobody', {}],
    ];
    for (const [source, headers] of signed) {
      const res = await post(`/webhook/${source}`, form, { 'content-type': FORM, ...headers });
      expect(res.statusCode, source).toBe(415);
      expect(res.json()).toEqual({ error: 'unsupported_media_type' });
    }
    await app.close();
    startApp({ sources: SOURCES, allowUnknown: true });
    const unknown = await post('/webhook/newcomer', form, { 'content-type': FORM });
    expect(unknown.statusCode).toBe(415);
    // And POST /webhook, the envelope, takes JSON only.
    const envelope = await post('/webhook', form, { 'content-type': FORM });
    expect(envelope.statusCode).toBe(415);
    expect(publisher.published).toEqual([]);
    expect(kept).toEqual([]);
  });
});

describe('POST /webhook/:source, request errors keep the API error bodies', () => {
  afterEach(() => expect(publisher.published).toEqual([]));

  it('404 unknown_source for a source missing from WEBHOOK_SOURCES, also for Object members', async () => {
    for (const source of ['nobody', 'constructor', '__proto__', 'toString']) {
      const res = await post(`/webhook/${source}`, JSON.stringify({ type: 't' }));
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: 'unknown_source' });
    }
  });

  it('413 payload_too_large over MAX_BODY_BYTES, before any check', async () => {
    const res = await post('/webhook/github', JSON.stringify({ big: 'x'.repeat(MAX_BODY_BYTES) }));
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: 'payload_too_large' });
  });

  it.each([['text/plain'], ['application/x-www-form-urlencoded']])(
    '415 unsupported_media_type for %s',
    async (contentType) => {
      const res = await post('/webhook/plain', 'payload=%7B%7D', { 'content-type': contentType });
      expect(res.statusCode).toBe(415);
      expect(res.json()).toEqual({ error: 'unsupported_media_type' });
    },
  );

  it('415 when no content type is sent', async () => {
    const res = await app.inject({ method: 'POST', url: '/webhook/plain' });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toEqual({ error: 'unsupported_media_type' });
  });

  it('400 invalid_payload for an empty body, malformed JSON or a prototype-poisoning key', async () => {
    for (const body of ['', '{"type":', '{"type":"t","__proto__":{"x":1}}']) {
      const res = await post('/webhook/plain', body);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_payload', message: expect.any(String) });
    }
  });

  it('accepts application/json with a charset parameter', async () => {
    const res = await post('/webhook/plain', JSON.stringify({ type: 't', id: 'cs-1' }), {
      'content-type': 'application/json; charset=utf-8',
    });
    expect(res.statusCode).toBe(200);
    publisher.published.length = 0;
  });
});

describe('POST /webhook/:source, unknown sources allowed', () => {
  beforeEach(async () => {
    await app.close();
    startApp({ sources: SOURCES, allowUnknown: true });
  });

  it('accepts an unconfigured source unsigned, with the generic conventions', async () => {
    const res = await post('/webhook/newcomer', JSON.stringify({ type: 'hello', id: 'n-1' }));
    expect(res.statusCode).toBe(200);
    expect(publisher.published[0]).toMatchObject({ source: 'newcomer', type: 'hello', id: 'n-1' });
  });

  it('still refuses an unsigned request to a configured source', async () => {
    const res = await post('/webhook/github', JSON.stringify({ type: 'push', id: 'forged' }));
    expect(res.statusCode).toBe(401);
    expect(publisher.published).toEqual([]);
  });

  it('400 for a source name that could never be configured (e.g. a padded copy of one)', async () => {
    const res = await post('/webhook/%20github', JSON.stringify({ type: 'push', id: 'x' }));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: 'validation_failed',
      issues: [{ path: 'param:source', message: expect.any(String) }],
    });
    expect(publisher.published).toEqual([]);
  });
});

describe('POST /webhook/:source, broker trouble and logs', () => {
  it('503 queue_unavailable with Retry-After when the broker does not confirm', async () => {
    publisher.failure = new QueueUnavailableError('timeout', 'no confirm');
    const res = await post('/webhook/plain', JSON.stringify({ type: 't' }));
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json()).toEqual({ error: 'queue_unavailable' });
  });

  it('logs why a signature was refused, never a secret', async () => {
    await app.close();
    const logs = captureLogs('info');
    startApp({ sources: SOURCES, allowUnknown: false }, logs.logger);
    const body = JSON.stringify({ zen: 'x' });
    const signature = await signGithub(SECRETS.github.stranger, body);
    for (let i = 0; i < 20; i++) {
      const res = await post('/webhook/github', body, { 'x-hub-signature-256': signature });
      expect(res.statusCode).toBe(401);
    }
    // One line at once; the other 19 refusals counted in one line at the interval's end
    // (here: when the app closes).
    const refusedLines = () => logs.lines.filter((l) => l.msg === 'webhook signature refused');
    expect(refusedLines()).toEqual([
      expect.objectContaining({
        source: 'github',
        scheme: 'github',
        reason: 'signature_mismatch',
        refused: 1,
      }),
    ]);
    await app.close();
    expect(refusedLines().map((l) => l.refused)).toEqual([1, 19]);
    const everything = JSON.stringify(logs.lines);
    for (const secret of Object.values(SECRETS).flatMap((s) => Object.values(s))) {
      expect(everything).not.toContain(secret);
    }
  });

  it('is described in the OpenAPI document', async () => {
    const document = (await app.inject('/docs/json')).json();
    const operation = document.paths['/webhook/{source}'].post;
    expect(Object.keys(operation.responses)).toEqual([
      '200',
      '400',
      '401',
      '404',
      '413',
      '415',
      '503',
    ]);
  });

  it('leaves POST /webhook (the envelope) as it was', async () => {
    const res = await post(
      '/webhook',
      JSON.stringify({ source: 'shop', type: 'push', id: 'env-1', data: { a: 1 } }),
    );
    expect(res.statusCode).toBe(200);
    expect(publisher.published[0]).toMatchObject({ id: 'env-1', source: 'shop', data: { a: 1 } });
    const notJson = await post('/webhook', '{oops');
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().error).toBe('invalid_payload');
  });
});

describe('POST /webhook and signed sources', () => {
  it('refuses an unsigned envelope for a source configured with a signature (403), publishing nothing', async () => {
    for (const source of ['github', 'stripe', 'acme']) {
      const res = await post(
        '/webhook',
        JSON.stringify({ source, type: 'push', id: `spoof-${source}` }),
      );
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: 'signed_source' });
    }
    expect(publisher.published).toEqual([]);
  });

  it('still accepts envelopes for unsigned ("none") and unconfigured sources', async () => {
    const plain = await post('/webhook', JSON.stringify({ source: 'plain', type: 't', id: 'p-1' }));
    const other = await post('/webhook', JSON.stringify({ source: 'shop', type: 't', id: 's-1' }));
    expect([plain.statusCode, other.statusCode]).toEqual([200, 200]);
  });
});

// GitHub signs no timestamp, so only the timestamped schemes have a tolerance to test.
describe.each(PROVIDERS.filter((p) => p.timestamped))(
  'POST /webhook/:source, $scheme timestamp tolerance',
  (provider) => {
    const secrets = SECRETS[provider.scheme];
    const signedAt = async (atMs: number) => {
      const id = `${provider.scheme}-${randomUUID()}`;
      const body = provider.body(id);
      const headers = await provider.sign({ secret: secrets.current, body, id, atMs });
      return post(`/webhook/${provider.source}`, body, headers);
    };

    it('refuses a timestamp more than 5 minutes old, or ahead (401, nothing published)', async () => {
      for (const atMs of [Date.now() - SIX_MINUTES_MS, Date.now() + SIX_MINUTES_MS]) {
        const res = await signedAt(atMs);
        expect(res.statusCode).toBe(401);
        expect(res.json()).toEqual({ error: 'invalid_signature' });
      }
      expect(publisher.published).toEqual([]);
    });

    it('accepts a timestamp 4 minutes old', async () => {
      expect((await signedAt(Date.now() - 4 * 60_000)).statusCode).toBe(200);
    });
  },
);
