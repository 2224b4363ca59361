import type { EventsRepository } from '@webhooks/db';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { buildOpsApp } from '../src/app.js';

let app: ReturnType<typeof buildOpsApp>;

beforeAll(() => {
  app = buildOpsApp({
    logger: testLogger(),
    readiness: async () => ({ broker: true, database: true }),
    // Every request below is answered before the repository is used.
    events: {} as EventsRepository,
    metricsRegistry: new Registry(),
    opsToken: 'ops-token-0123456789abcdef',
  });
});
afterAll(() => app.close());

describe('the consumer ops API', () => {
  it.each([
    ['/healthz', 200],
    ['/metrics', 200],
    ['/events', 401],
    ['/nope', 404],
  ])('answers %s with the security headers', async (url, status) => {
    const res = await app.inject(url);
    expect(res.statusCode).toBe(status);
    expect(res.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'referrer-policy': 'no-referrer',
    });
  });
});
