import autocannon from 'autocannon';
import { benchBody } from './lib/payload.js';

// Closed-loop load (each connection sends its next request when the last one is answered),
// run in its own process so the generator does not share an event loop with what it measures.
// argv: url connections durationSeconds [overallRate]: with overallRate, the connections together
// send at most that many requests per second (another load level, the same connections).
const [url, connections, durationSeconds, overallRate] = process.argv.slice(2);
const result = await autocannon({
  url: String(url),
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: benchBody,
  connections: Number(connections),
  duration: Number(durationSeconds),
  ...(overallRate === undefined ? {} : { overallRate: Number(overallRate) }),
});
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
  })}\n`,
);
