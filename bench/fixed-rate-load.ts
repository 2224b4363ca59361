import http from 'node:http';
import { failureReason } from './lib/failures.js';
import { runOpenLoop } from './lib/open-loop.js';
import { benchBody } from './lib/payload.js';

// Open-loop HTTP load at a fixed rate (see open-loop.ts), in its own process so the generator
// does not share an event loop with what it measures.
// argv: url ratePerSecond durationSeconds warmupSeconds
const [url, rate, durationSeconds, warmupSeconds] = process.argv.slice(2).map(String);
const target = new URL(url ?? '');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const body = Buffer.from(benchBody);

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
    request.on('error', (error) => resolve(failureReason({ error })));
    request.end(body);
  });
}

const result = await runOpenLoop({
  ratePerSecond: Number(rate),
  seconds: Number(durationSeconds),
  warmupSeconds: Number(warmupSeconds ?? 0),
  send,
});
agent.destroy();
process.stdout.write(`${JSON.stringify(result)}\n`);
