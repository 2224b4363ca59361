import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { type AppDeps, buildApp } from '../src/app.js';
import { IngestMetrics } from '../src/metrics.js';

// A body over MAX_BODY_BYTES is answered 413 in a way the sender can read: the rest of the
// body is read and thrown away (within bounds) before the connection is closed.

const MiB = 1024 * 1024;
let app: ReturnType<typeof buildApp> | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** The API listening on a free port of 127.0.0.1, with a publisher that takes everything. */
async function listen(options: Partial<AppDeps> = {}) {
  app = buildApp({
    publisher: { ready: true, publish: async () => {} },
    metrics: new IngestMetrics({ brokerConnected: () => true }),
    logger: testLogger(),
    maxBodyBytes: MiB,
    retryAfterSeconds: 5,
    ...options,
  });
  const sockets: net.Socket[] = [];
  app.server.on('connection', (socket: net.Socket) => sockets.push(socket));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return { port: address.port, sockets };
}

/** A JSON body of about `bytes` bytes. */
function bodyOf(bytes: number): string {
  return JSON.stringify({ source: 's', type: 't', data: { pad: 'x'.repeat(bytes) } });
}

describe('413 for an oversized body', () => {
  it("reaches Node's fetch: 2 MiB against the default 1 MiB limit", async () => {
    const { port } = await listen();
    const res = await fetch(`http://127.0.0.1:${port}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: bodyOf(2 * MiB),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'payload_too_large' });
  });

  it('reaches fetch on a provider route too, and for a body streamed without a length', async () => {
    const { port } = await listen({ providerSources: { sources: {}, allowUnknown: true } });
    const chunk = new TextEncoder().encode(`{"pad":"${'x'.repeat(MiB / 4)}`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 1;
        if (sent <= 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`http://127.0.0.1:${port}/webhook/shop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'payload_too_large' });
  });

  it('a declared length far past the bound: closed at once, the body left unread', async () => {
    const { port, sockets } = await listen({ maxBodyBytes: 64 * 1024 });
    const socket = net.connect(port, '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    let response = '';
    socket.on('data', (chunk: Buffer) => {
      response += chunk.toString('latin1');
    });
    socket.write(
      `POST /webhook HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${512 * MiB}\r\n\r\n`,
    );
    const piece = Buffer.alloc(64 * 1024, 0x20);
    // Writes until the server closes; it never reads anywhere near the declared length.
    const writeUntilClosed = async () => {
      while (!socket.destroyed) {
        if (!socket.write(piece)) {
          await new Promise((resolve) => {
            socket.once('drain', resolve);
            socket.once('close', resolve);
          });
        }
      }
    };
    await Promise.all([writeUntilClosed(), closed]);
    expect(response).toMatch(/^HTTP\/1\.1 413/);
    const serverSide = sockets[0];
    expect(serverSide?.bytesRead).toBeLessThan(16 * MiB);
  });

  it('a streamed body past the bound: read up to the bound, then the connection is closed', async () => {
    const { port, sockets } = await listen({
      maxBodyBytes: 64 * 1024,
      oversizedBody: { maxBytes: 256 * 1024, timeoutMs: 30_000 },
    });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(
      'POST /webhook HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
    );
    const piece = Buffer.alloc(64 * 1024, 0x20);
    const chunk = Buffer.concat([
      Buffer.from(`${piece.length.toString(16)}\r\n`),
      piece,
      Buffer.from('\r\n'),
    ]);
    let written = 0;
    while (!socket.destroyed && written < 512 * MiB) {
      written += chunk.length;
      if (!socket.write(chunk)) {
        await new Promise((resolve) => {
          socket.once('drain', resolve);
          socket.once('close', resolve);
        });
      }
    }
    await closed;
    const serverSide = sockets[0];
    // The bound plus what the socket buffers hold, never the whole body.
    expect(serverSide?.bytesRead).toBeGreaterThan(256 * 1024);
    expect(serverSide?.bytesRead).toBeLessThan(16 * MiB);
    expect(written).toBeLessThan(512 * MiB);
  });

  it('a sender that stalls after the limit gets the 413 once the wait is over', async () => {
    const { port } = await listen({
      maxBodyBytes: 1024,
      oversizedBody: { timeoutMs: 300 },
    });
    const socket = net.connect(port, '127.0.0.1');
    let response = '';
    socket.on('data', (chunk: Buffer) => {
      response += chunk.toString('latin1');
    });
    const startedMs = performance.now();
    socket.write(
      `POST /webhook HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 3000\r\n\r\n${'x'.repeat(2000)}`,
    );
    await waitFor('the 413', async () =>
      response.includes('payload_too_large') ? true : undefined,
    );
    expect(response).toMatch(/^HTTP\/1\.1 413/);
    expect(performance.now() - startedMs).toBeGreaterThanOrEqual(250);
    socket.destroy();
  });
});
