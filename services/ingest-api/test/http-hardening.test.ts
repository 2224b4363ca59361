import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePublisher } from '../../../test/helpers/fake-publisher.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { buildApp } from '../src/app.js';
import { IngestMetrics } from '../src/metrics.js';

/** Short limits, so that a test sees them act; Node checks them about once a second. */
const TIMEOUTS = { requestMs: 2000, headersMs: 600, keepAliveMs: 600 };
const CHECK_INTERVAL_MS = 1000;
/** Scheduling slack on a loaded machine. */
const SLACK_MS = 1500;

let app: ReturnType<typeof buildApp>;
let port: number;

beforeAll(async () => {
  app = buildApp({
    publisher: new FakePublisher(),
    metrics: new IngestMetrics({ brokerConnected: () => true }),
    logger: testLogger(),
    maxBodyBytes: 4096,
    retryAfterSeconds: 5,
    timeouts: TIMEOUTS,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  port = address.port;
});
afterAll(() => app.close());

interface Conversation {
  /** Resolves when the server closes the connection, with what it answered and when. */
  closed: Promise<{ response: string; afterMs: number }>;
  socket: net.Socket;
}

/** A raw client connection, so a test can send as slowly as an attacker would. */
function connect(): Conversation {
  const socket = net.connect(port, '127.0.0.1');
  const startedMs = performance.now();
  let response = '';
  socket.on('data', (chunk: Buffer) => {
    response += chunk.toString('latin1');
  });
  const closed = new Promise<{ response: string; afterMs: number }>((resolve, reject) => {
    const deadline = setTimeout(
      () => {
        socket.destroy();
        reject(new Error(`the server kept the connection open; answered so far: ${response}`));
      },
      TIMEOUTS.requestMs + CHECK_INTERVAL_MS + 2 * SLACK_MS,
    );
    socket.on('close', () => {
      clearTimeout(deadline);
      resolve({ response, afterMs: performance.now() - startedMs });
    });
    socket.on('error', () => {});
  });
  return { closed, socket };
}

/** Writes `text` one byte at a time, every `everyMs`, until the connection closes. */
function trickle(socket: net.Socket, text: string, everyMs: number): { sent: () => number } {
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return;
    socket.write(text[sent % text.length] ?? 'x');
    sent += 1;
  }, everyMs);
  socket.on('close', () => clearInterval(timer));
  return { sent: () => sent };
}

describe('slow clients are cut off', () => {
  it('headers sent byte by byte (slowloris): 408 and closed after HEADERS_TIMEOUT_MS', async () => {
    const { socket, closed } = connect();
    socket.write('POST /webhook HTTP/1.1\r\nHost: localhost\r\n');
    const slow = trickle(socket, 'x-slow-header-name-that-never-ends', 50);
    const { response, afterMs } = await closed;
    expect(response).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeGreaterThanOrEqual(TIMEOUTS.headersMs);
    expect(afterMs).toBeLessThan(TIMEOUTS.headersMs + CHECK_INTERVAL_MS + SLACK_MS);
    // The client never went quiet: this was the headers timeout, not an idle socket.
    expect(slow.sent()).toBeGreaterThan(TIMEOUTS.headersMs / 50 / 2);
  });

  it('a body trickling in: 408 and closed after REQUEST_TIMEOUT_MS', async () => {
    const { socket, closed } = connect();
    socket.write(
      'POST /webhook HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{"source":"s","type":"t","data":{"x":"',
    );
    trickle(socket, 'a', 50);
    const { response, afterMs } = await closed;
    expect(response).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeGreaterThanOrEqual(TIMEOUTS.requestMs);
    expect(afterMs).toBeLessThan(TIMEOUTS.requestMs + CHECK_INTERVAL_MS + SLACK_MS);
  });

  it('a body that stalls mid-way: closed after REQUEST_TIMEOUT_MS', async () => {
    const { socket, closed } = connect();
    socket.write(
      'POST /webhook HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"source":',
    );
    const { afterMs } = await closed;
    expect(afterMs).toBeGreaterThanOrEqual(TIMEOUTS.requestMs);
    expect(afterMs).toBeLessThan(TIMEOUTS.requestMs + CHECK_INTERVAL_MS + SLACK_MS);
  });

  it('an idle keep-alive connection: closed after KEEP_ALIVE_TIMEOUT_MS', async () => {
    const { socket, closed } = connect();
    let answeredMs = 0;
    socket.once('data', () => {
      answeredMs = performance.now();
    });
    socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
    const { response } = await closed;
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    const idleMs = performance.now() - answeredMs;
    expect(idleMs).toBeGreaterThanOrEqual(TIMEOUTS.keepAliveMs - 100);
    expect(idleMs).toBeLessThan(TIMEOUTS.keepAliveMs + SLACK_MS);
  });

  it('a client that is merely slow, within the limits, is served', async () => {
    const body = '{"source":"s","type":"t","data":{"slow":true}}';
    const parts = [
      'POST /webhook HTTP/1.1\r\nHost: localhost\r\n',
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      body.slice(0, 10),
      body.slice(10),
    ];
    const { socket, closed } = connect();
    for (const part of parts) {
      socket.write(part);
      await new Promise((resolve) => setTimeout(resolve, 100)); // the client's own pace
    }
    const { response } = await closed;
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('security headers', () => {
  const SECURE = {
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
  };

  it.each([
    ['an accepted webhook', 'POST', '/webhook', '{"source":"s","type":"t"}', 200],
    ['a refused webhook', 'POST', '/webhook', '{"source":"s"}', 400],
    ['a body too large', 'POST', '/webhook', `{"x":"${'x'.repeat(5000)}"}`, 413],
    ['an unknown route', 'GET', '/nope', undefined, 404],
    ['a malformed URL', 'GET', '/webhook/%E0%A4%A', undefined, 400],
    ['an over-long source', 'POST', `/webhook/${'a'.repeat(200)}`, '{}', 414],
    ['health', 'GET', '/healthz', undefined, 200],
    ['metrics', 'GET', '/metrics', undefined, 200],
  ] as const)('are on %s', async (_case, method, url, payload, status) => {
    const res = await app.inject({
      method,
      url,
      headers: { 'content-type': 'application/json' },
      ...(payload === undefined ? {} : { payload }),
    });
    expect(res.statusCode).toBe(status);
    expect(res.headers).toMatchObject(SECURE);
    expect(res.headers['x-request-id']).toBeTruthy();
    if (status >= 400) expect(res.json().error).toMatch(/^[a-z_]+$/);
  });

  it('let the docs UI load its own scripts and styles, also over plain HTTP', async () => {
    const page = await app.inject('/docs/');
    expect(page.statusCode).toBe(200);
    const policy = String(page.headers['content-security-policy']);
    expect(policy).toMatch(/script-src 'self'/);
    expect(policy).toMatch(/style-src 'self'/);
    expect(policy).not.toMatch(/upgrade-insecure-requests/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const assets = [...page.body.matchAll(/(?:src|href)="\.\/(static\/[^"]+)"/g)].map(
      (match) => match[1] as string,
    );
    // The page names its scripts and styles (else the loop below would check nothing).
    expect(assets.filter((asset) => asset.endsWith('.js')).length).toBeGreaterThan(0);
    expect(assets.filter((asset) => asset.endsWith('.css')).length).toBeGreaterThan(0);
    for (const asset of assets) {
      const res = await app.inject(`/docs/${asset}`);
      expect(res.statusCode, asset).toBe(200);
    }
  });
});
