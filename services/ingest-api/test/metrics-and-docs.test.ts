import { Validator } from '@seriousme/openapi-schema-validator';
import { QueueAdmin, type Topology } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type IngestHarness, startIngest, testTopology } from '../../../test/helpers/pipeline.js';
import { metricValue } from '../../../test/helpers/prometheus.js';

let ingest: IngestHarness;
let topology: Topology;

beforeAll(async () => {
  topology = testTopology();
  ingest = await startIngest({ amqpUrl: inject('amqpUrl'), topology });
});

afterAll(async () => {
  await ingest?.close();
  const admin = await QueueAdmin.connect(inject('amqpUrl'));
  await admin.deleteTopology(topology).catch(() => {});
  await admin.close();
});

const scrape = async () => {
  const res = await ingest.app.inject('/metrics');
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toContain('text/plain');
  return res.body;
};

describe('ingest /metrics', () => {
  it('counts accepted and rejected webhooks by reason, requests by route and status, and confirm latency', async () => {
    const before = await scrape();
    expect(metricValue(before, 'broker_connected')).toBe(1);
    expect(metricValue(before, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    expect((await ingest.post({ source: 'm', type: 't', id: 'metrics-1' })).statusCode).toBe(200);
    expect((await ingest.post({ source: 'm' })).statusCode).toBe(400);
    const notJson = await ingest.app.inject({
      method: 'POST',
      url: '/webhook',
      headers: { 'content-type': 'application/json' },
      payload: '{oops',
    });
    expect(notJson.statusCode).toBe(400);
    const wrongType = await ingest.app.inject({
      method: 'POST',
      url: '/webhook',
      headers: { 'content-type': 'text/plain' },
      payload: 'hi',
    });
    expect(wrongType.statusCode).toBe(415);

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      metricValue(after, name, labels) - metricValue(before, name, labels);
    expect(delta('webhooks_accepted_total')).toBe(1);
    expect(delta('webhooks_rejected_total', { reason: 'validation_failed' })).toBe(1);
    expect(delta('webhooks_rejected_total', { reason: 'invalid_payload' })).toBe(1);
    expect(delta('webhooks_rejected_total', { reason: 'unsupported_media_type' })).toBe(1);
    expect(delta('http_requests_total', { route: '/webhook', method: 'POST', status: '200' })).toBe(
      1,
    );
    expect(delta('http_requests_total', { route: '/webhook', method: 'POST', status: '400' })).toBe(
      2,
    );
    expect(
      delta('http_request_duration_seconds_count', { route: '/webhook', method: 'POST' }),
    ).toBe(4);
    expect(delta('publish_confirm_duration_seconds_count', { outcome: 'confirmed' })).toBe(1);
  });
});

describe('OpenAPI document', () => {
  it('is served at /docs/json, is a valid OpenAPI document, and describes POST /webhook from the zod schema', async () => {
    const res = await ingest.app.inject('/docs/json');
    expect(res.statusCode).toBe(200);
    const document = res.json();

    const validation = await new Validator().validate(document);
    expect(validation.errors ?? []).toEqual([]);
    expect(validation.valid).toBe(true);

    const post = document.paths['/webhook'].post;
    const body = post.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['source', 'type']);
    expect(Object.keys(body.properties)).toEqual(['source', 'type', 'data', 'id', 'timestamp']);
    expect(body.additionalProperties).toBe(false);
    expect(Object.keys(post.responses)).toEqual(['200', '400', '403', '413', '415', '503']);
  });

  it('serves a documentation UI at /docs', async () => {
    const res = await ingest.app.inject('/docs/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('swagger');
  });
});
