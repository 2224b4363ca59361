import { QueueUnavailableError } from '@webhooks/queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakePublisher } from '../../../test/helpers/fake-publisher.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { buildApp } from '../src/app.js';
import { IngestMetrics } from '../src/metrics.js';

const MAX_BODY_BYTES = 4096;
let publisher: FakePublisher;
let metrics: IngestMetrics;
let app: ReturnType<typeof buildApp>;

beforeEach(() => {
  publisher = new FakePublisher();
  metrics = new IngestMetrics({ brokerConnected: () => publisher.ready });
  app = buildApp({
    publisher,
    metrics,
    logger: testLogger(),
    maxBodyBytes: MAX_BODY_BYTES,
    retryAfterSeconds: 7,
  });
});
afterEach(() => app.close());

const post = (payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/webhook',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

describe('POST /webhook: accepted events', () => {
  it('answers 200 with the id once published, keeping source, type, data and timestamp', async () => {
    const res = await post({
      source: 'github',
      type: 'push',
      data: { ref: 'main' },
      id: 'evt-1',
      timestamp: '2026-01-02T03:04:05.678+02:00',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'success', id: 'evt-1' });
    expect(publisher.published).toHaveLength(1);
    const event = publisher.published[0];
    expect(event).toMatchObject({
      id: 'evt-1',
      source: 'github',
      type: 'push',
      data: { ref: 'main' },
      timestamp: '2026-01-02T03:04:05.678+02:00',
    });
  });

  it('trims source and type, defaults data to {} and timestamp to the time of receipt', async () => {
    const before = Date.now();
    const res = await post({ source: '  stripe ', type: ' charge.succeeded' });
    expect(res.statusCode).toBe(200);
    const event = publisher.published[0];
    expect(event?.source).toBe('stripe');
    expect(event?.type).toBe('charge.succeeded');
    expect(event?.data).toEqual({});
    expect(event?.timestamp).toBe(event?.receivedAt);
    expect(Date.parse(event?.receivedAt ?? '')).toBeGreaterThanOrEqual(before);
  });

  it('takes the id from Idempotency-Key, then webhook-id, when the body has none', async () => {
    const a = await post(
      { source: 's', type: 't' },
      { 'idempotency-key': 'key-1', 'webhook-id': 'wh-1' },
    );
    const b = await post({ source: 's', type: 't' }, { 'webhook-id': 'wh-2' });
    const c = await post({ source: 's', type: 't', id: 'body-id' }, { 'idempotency-key': 'key-3' });
    expect([a.json().id, b.json().id, c.json().id]).toEqual(['key-1', 'wh-2', 'body-id']);
  });

  it('generates a UUID when no id is given, and returns it', async () => {
    const res = await post({ source: 's', type: 't' });
    expect(res.json().id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(publisher.published[0]?.id).toBe(res.json().id);
  });

  it('echoes a sent x-request-id and passes it to the message; generates one otherwise', async () => {
    const sent = await post({ source: 's', type: 't' }, { 'x-request-id': 'req-abc' });
    expect(sent.headers['x-request-id']).toBe('req-abc');
    expect(publisher.requestIds[0]).toBe('req-abc');

    const generated = await post({ source: 's', type: 't' }, { 'x-request-id': 'has spaces' });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(publisher.requestIds[1]).toBe(generated.headers['x-request-id']);
  });
});

describe('POST /webhook: refused requests publish nothing', () => {
  afterEach(() => expect(publisher.published).toEqual([]));

  it.each([
    ['malformed JSON', '{"source": "s",'],
    ['an empty body', ''],
    ['a prototype-poisoning key', '{"source":"s","type":"t","data":{"__proto__":{"x":1}}}'],
  ])('400 invalid_payload for %s', async (_case, body) => {
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_payload', message: expect.any(String) });
  });

  it.each([
    ['a missing source', { type: 't' }, 'source'],
    ['a blank type', { source: 's', type: '   ' }, 'type'],
    ['a source over 255 characters', { source: 'x'.repeat(256), type: 't' }, 'source'],
    ['data that is an array', { source: 's', type: 't', data: [1] }, 'data'],
    ['data that is a string', { source: 's', type: 't', data: 'x' }, 'data'],
    ['an empty id', { source: 's', type: 't', id: '' }, 'id'],
    [
      'a timestamp without a zone',
      { source: 's', type: 't', timestamp: '2026-01-01T00:00:00' },
      'timestamp',
    ],
    [
      'a timestamp that is not a date',
      { source: 's', type: 't', timestamp: 'yesterday' },
      'timestamp',
    ],
    ['an unknown field', { source: 's', type: 't', extra: 1 }, ''],
  ])('400 validation_failed naming the field for %s', async (_case, body, path) => {
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    const json = res.json();
    expect(json.error).toBe('validation_failed');
    expect(json.issues).toEqual(
      expect.arrayContaining([expect.objectContaining({ path, message: expect.any(String) })]),
    );
  });

  it('400 for a JSON body that is not an object', async () => {
    const res = await post('[1,2]');
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('validation_failed');
  });

  it('400 for an Idempotency-Key over 255 characters', async () => {
    const res = await post({ source: 's', type: 't' }, { 'idempotency-key': 'k'.repeat(256) });
    expect(res.statusCode).toBe(400);
    expect(res.json().issues[0].path).toBe('header:idempotency-key');
  });

  it('413 payload_too_large over MAX_BODY_BYTES', async () => {
    const res = await post({ source: 's', type: 't', data: { big: 'x'.repeat(MAX_BODY_BYTES) } });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: 'payload_too_large' });
  });

  it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['application/xml']])(
    '415 unsupported_media_type for %s',
    async (contentType) => {
      const res = await post('source=s&type=t', { 'content-type': contentType });
      expect(res.statusCode).toBe(415);
      expect(res.json()).toEqual({ error: 'unsupported_media_type' });
    },
  );

  it('415 when no content type is sent', async () => {
    const res = await app.inject({ method: 'POST', url: '/webhook' });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toEqual({ error: 'unsupported_media_type' });
  });
});

describe('POST /webhook: broker trouble', () => {
  it('503 queue_unavailable with Retry-After when the broker does not confirm', async () => {
    publisher.failure = new QueueUnavailableError('timeout', 'no confirm');
    const res = await post({ source: 's', type: 't' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json()).toEqual({ error: 'queue_unavailable' });
  });

  it('500 without details for an unexpected error, never echoing its message', async () => {
    publisher.failure = new Error('secret internals at /srv/app');
    const res = await post({ source: 's', type: 't' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'internal_error' });
    expect(res.body).not.toContain('secret');
  });
});

describe('POST /webhook: refusals counted by reason', () => {
  const rejected = async () =>
    Object.fromEntries(
      (await metrics.rejected.get()).values.map((v) => [String(v.labels.reason), v.value]),
    );

  it('counts each refusal under the error code it answered, raised in the route or before it', async () => {
    await post({ source: 's', type: 't', data: { big: 'x'.repeat(MAX_BODY_BYTES) } });
    await post({ type: 't' });
    publisher.failure = new QueueUnavailableError('timeout', 'no confirm');
    await post({ source: 's', type: 't' });
    publisher.failure = new Error('bug');
    await post({ source: 's', type: 't' });
    expect(await rejected()).toEqual({
      payload_too_large: 1,
      validation_failed: 1,
      queue_unavailable: 1,
      internal_error: 1,
    });
  });
});

describe('other routes', () => {
  it('/healthz is 200; /readyz follows the broker channel', async () => {
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    publisher.ready = false;
    const notReady = await app.inject('/readyz');
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toMatchObject({ broker: 'disconnected' });
  });

  it('unknown routes get a JSON 404 with a request id', async () => {
    const res = await app.inject('/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'not_found' });
    expect(res.headers['x-request-id']).toBeTruthy();
  });
});
