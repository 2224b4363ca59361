import http from 'node:http';
import { benchBody } from './payload.js';

// Open-loop load at a fixed rate: requests leave on schedule whether or not earlier ones were
// answered, and latency is measured from the scheduled send time. A slow server therefore
// shows up as latency instead of silently lowering the rate (no coordinated omission).
// argv: url ratePerSecond durationSeconds
const [url, rate, durationSeconds] = process.argv.slice(2).map(String);
const ratePerSecond = Number(rate);
const total = Math.round(ratePerSecond * Number(durationSeconds));
const target = new URL(url ?? '');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const body = Buffer.from(benchBody);
const latenciesMs: number[] = [];
let ok = 0;
let failed = 0;
let done = 0;

function send(scheduledAt: number): void {
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
      response.resume();
      response.on('end', () => {
        latenciesMs.push(performance.now() - scheduledAt);
        if (response.statusCode === 200) ok += 1;
        else failed += 1;
        finish();
      });
    },
  );
  request.on('error', () => {
    failed += 1;
    finish();
  });
  request.end(body);
}

const started = performance.now();
let sent = 0;
function tick(): void {
  const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * ratePerSecond));
  for (; sent < due; sent++) send(started + (sent / ratePerSecond) * 1000);
  if (sent < total) setTimeout(tick, 1);
}

function finish(): void {
  done += 1;
  if (done < total) return;
  latenciesMs.sort((a, b) => a - b);
  const at = (q: number) =>
    latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(q * latenciesMs.length))] ?? 0;
  const elapsedSeconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      requested: total,
      ok,
      failed,
      achievedPerSecond: total / elapsedSeconds,
      latencyP50Ms: at(0.5),
      latencyP99Ms: at(0.99),
      latencyMaxMs: latenciesMs.at(-1) ?? 0,
    })}\n`,
  );
  agent.destroy();
}

tick();
