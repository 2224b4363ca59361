import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { buildApp } from '../src/app.js';
import { IngestMetrics } from '../src/metrics.js';

// Every response is counted in http_requests_total, also those made before routing: by
// Fastify for a URL it cannot route (400, 414) and by Node's clientError path (400, 408, 431).

let app: ReturnType<typeof buildApp>;
let metrics: IngestMetrics;
let port: number;

beforeAll(async () => {
  metrics = new IngestMetrics({ brokerConnected: () => true });
  app = buildApp({
    publisher: { ready: true, publish: async () => {} },
    metrics,
    logger: testLogger(),
    maxBodyBytes: 4096,
    retryAfterSeconds: 5,
    timeouts: { requestMs: 2000, headersMs: 600, keepAliveMs: 600 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  port = address.port;
});
afterAll(() => app.close());

/** Requests counted with `status`, over every route and method. */
async function counted(status: number): Promise<number> {
  const { values } = await metrics.requests.get();
  return values.filter((v) => v.labels.status === status).reduce((sum, v) => sum + v.value, 0);
}

/** Sends raw bytes and resolves with all the server answered once it closes the connection. */
function exchange(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let response = '';
    const deadline = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open; answered so far: ${response}`));
    }, 10_000);
    socket.on('data', (chunk: Buffer) => {
      response += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(deadline);
      resolve(response);
    });
    socket.write(text);
  });
}

describe('responses made before routing are counted', () => {
  it.each([
    ['a malformed URL', '/webhook/%E0%A4%A', 400],
    ['an over-long path parameter', `/webhook/${'a'.repeat(200)}`, 414],
  ])('%s: %i, counted once as route unmatched', async (_case, url, status) => {
    const before = await counted(status);
    const res = await app.inject({ method: 'POST', url, payload: {} });
    expect(res.statusCode).toBe(status);
    expect(await counted(status)).toBe(before + 1);
    const { values } = await metrics.requests.get();
    expect(values).toContainEqual(
      expect.objectContaining({ labels: { route: 'unmatched', method: 'POST', status } }),
    );
  });

  it('431 for headers past the limit, with a JSON body', async () => {
    const before = await counted(431);
    const response = await exchange(
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(response).toMatch(/^HTTP\/1\.1 431 /);
    expect(response).toContain('{"error":"headers_too_large"}');
    expect(await counted(431)).toBe(before + 1);
  });

  it('400 for bytes that are not HTTP', async () => {
    const before = await counted(400);
    const response = await exchange('HELLO THERE\r\n\r\n');
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(response).toContain('{"error":"malformed_request"}');
    expect(await counted(400)).toBe(before + 1);
  });

  it('408 for headers that never end', async () => {
    const before = await counted(408);
    const response = await exchange('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    expect(response).toMatch(/^HTTP\/1\.1 408 /);
    expect(response).toContain('{"error":"request_timeout"}');
    expect(await counted(408)).toBe(before + 1);
  });

  it('routed responses are still counted once, with their route', async () => {
    const before = await counted(404);
    await app.inject({ method: 'GET', url: '/nope' });
    expect(await counted(404)).toBe(before + 1);
  });
});
