import http from 'node:http';
import { failureReason } from './lib/failures.js';
import { runOpenLoop } from './lib/open-loop.js';
import { benchBody } from './lib/payload.js';

// Open-loop HTTP load at a fixed rate (see open-loop.ts), in its own process so the generator
// does not share an event loop with what it measures.
// argv: url ratePerSecond durationSeconds warmupSeconds
const [url, rate, durationSeconds, warmupSeconds] = process.argv.slice(2).map(String);
const target = new URL(url ?? '');
/**
 * A connection left idle this long is closed rather than used again: below the API's keep-alive
 * timeout (5 s by default), so that the generator never sends on a connection the server is
 * closing at that moment (the request would fail with ECONNRESET, which is the client's race,
 * not the service's failure). Requests in flight are not affected.
 */
const IDLE_CONNECTION_MS = 4000;
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: IDLE_CONNECTION_MS });
/** When each pooled connection last became idle, to say how long a failed reuse had waited. */
const idleSince = new WeakMap<object, number>();
agent.on('free', (socket: object) => idleSince.set(socket, performance.now()));
const body = Buffer.from(benchBody);
/** Connections opened, and the longest any took to connect, by second of the run. */
const connects: Array<{ opened: number; maxMs: number }> = [];
let runStartedAt = performance.now();

function timeConnect(socket: import('node:net').Socket): void {
  if (!socket.connecting) return;
  const openedAt = performance.now();
  const second = Math.max(0, Math.floor((openedAt - runStartedAt) / 1000));
  socket.once('connect', () => {
    const entry = connects[second] ?? { opened: 0, maxMs: 0 };
    connects[second] = entry;
    entry.opened += 1;
    entry.maxMs = Math.max(entry.maxMs, Math.round((performance.now() - openedAt) * 10) / 10);
  });
}

/** Undefined for a 200; otherwise the status, or the error when no answer came. */
function send(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (response) => {
        const status = response.statusCode;
        response.resume();
        response.on('end', () => resolve(status === 200 ? undefined : failureReason({ status })));
        response.on('error', (error) => resolve(failureReason({ error })));
      },
    );
    let idleMs: number | undefined;
    request.on('socket', (socket) => {
      timeConnect(socket);
      const since = idleSince.get(socket);
      idleMs = since === undefined ? undefined : performance.now() - since;
    });
    request.on('error', (error) =>
      resolve(failureReason({ error, reusedIdleMs: request.reusedSocket ? idleMs : undefined })),
    );
    request.end(body);
  });
}

runStartedAt = performance.now();
const result = await runOpenLoop({
  ratePerSecond: Number(rate),
  seconds: Number(durationSeconds),
  warmupSeconds: Number(warmupSeconds ?? 0),
  send,
});
agent.destroy();
const connectsBySecond = Array.from({ length: result.perSecond.length }, (_, s) => ({
  opened: connects[s]?.opened ?? 0,
  maxMs: connects[s]?.maxMs ?? 0,
}));
process.stdout.write(`${JSON.stringify({ ...result, connects: connectsBySecond })}\n`);
