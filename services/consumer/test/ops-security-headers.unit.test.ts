import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EventsRepository } from '@webhooks/db';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { buildOpsApp } from '../src/ops/ops-app.js';
import { CONSOLE_CSP } from '../src/ops/routes/console.js';
import { staticOpsApp } from './fixtures/static-ops-app.js';

let app: ReturnType<typeof buildOpsApp>;

/** Every file of the console, as its URL: the page, its modules and its style sheet. */
const CONSOLE_DIR = fileURLToPath(new URL('../console/', import.meta.url));
const CONSOLE_URLS = readdirSync(CONSOLE_DIR, { recursive: true, encoding: 'utf8' })
  .filter((file) => /\.(?:html|css|js)$/.test(file))
  .map((file) => `/console/${file}`);
const TYPES: Record<string, string> = { html: 'text/html', css: 'text/css', js: 'text/javascript' };

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

describe('the console', () => {
  let consoleApp: ReturnType<typeof staticOpsApp>;
  beforeAll(() => {
    consoleApp = staticOpsApp();
  });
  afterAll(() => consoleApp.close());

  it('finds the console files it checks', () => {
    // The page, main.js, a shared part and a screen at least: a wrong folder would find none.
    expect(CONSOLE_URLS).toEqual(
      expect.arrayContaining([
        '/console/index.html',
        '/console/console.css',
        '/console/main.js',
        '/console/lib/dom.js',
        '/console/screens/overview.js',
      ]),
    );
  });

  it.each([
    ['/console', 'text/html'],
    ['/console/reasons.js', 'text/javascript'],
    ...CONSOLE_URLS.map((url) => [url, TYPES[url.split('.').pop() ?? ''] ?? 'none']),
  ])(
    'serves %s without a token, under a policy that allows only its own files',
    async (url, type) => {
      const res = await consoleApp.inject(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain(type);
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(CONSOLE_CSP).toContain("script-src 'self'");
      expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
      expect(CONSOLE_CSP).not.toContain('unsafe-inline');
      expect(res.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
    },
  );

  it('has no inline script or style and names no other origin', async () => {
    for (const file of ['/console', '/console/reasons.js', ...CONSOLE_URLS]) {
      const body = (await consoleApp.inject(file)).body;
      expect(body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(body).not.toMatch(/\sstyle=/);
      expect(body).not.toMatch(/(?:src|href)=["']?(?:https?:)?\/\//);
    }
  });

  it('serves no other file, and its data still needs the token', async () => {
    expect((await consoleApp.inject('/console/../package.json')).statusCode).toBe(404);
    expect((await consoleApp.inject('/console/index.ts')).statusCode).toBe(404);
    expect((await consoleApp.inject('/console/..%2fpackage.json')).statusCode).toBe(404);
    expect((await consoleApp.inject('/console/lib/missing.js')).statusCode).toBe(404);
    expect((await consoleApp.inject('/console/lib')).statusCode).toBe(404);
    const api = await consoleApp.inject('/dead-letters');
    expect(api.statusCode).toBe(401);
    expect(api.headers['content-security-policy']).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
    expect((await consoleApp.inject('/overview')).statusCode).toBe(401);
  });
});
