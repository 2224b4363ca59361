import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { buildApp } from '../services/ingest-api/src/app.js';
import { IngestMetrics } from '../services/ingest-api/src/metrics.js';
import { benchBody } from './lib/payload.js';

// `node [V8 flags] --import tsx bench/app-memory.ts [requests]`: the ingest app's peak RSS, CPU
// per request and GC count under load, in one process without broker or sockets (the publish
// resolves after 5 ms), so V8 settings can be compared on a busy machine: the figures depend
// on allocation, not on how much CPU the machine has to spare.
const requests = Number(process.argv[2] ?? 30_000);
const concurrency = 100;
const metrics = new IngestMetrics({ brokerConnected: () => true });
const app = buildApp({
  publisher: { ready: true, publish: () => new Promise((resolve) => setTimeout(resolve, 5)) },
  metrics,
  logger: pino({ level: 'warn' }),
  maxBodyBytes: 1 << 20,
  retryAfterSeconds: 5,
});
await app.ready();

const cpuBefore = process.cpuUsage();
let next = 0;
const worker = async () => {
  while (next++ < requests) {
    const res = await app.inject({
      method: 'POST',
      url: '/webhook',
      headers: { 'content-type': 'application/json' },
      payload: benchBody,
    });
    if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}: ${res.body}`);
  }
};
await Promise.all(Array.from({ length: concurrency }, worker));
const cpu = process.cpuUsage(cpuBefore);
const peakKb = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
const gc = (await metrics.registry.getSingleMetric('nodejs_gc_duration_seconds')?.get())?.values
  .filter((v) => (v as { metricName?: string }).metricName === 'nodejs_gc_duration_seconds_count')
  .map((v) => `${v.labels.kind} ${v.value}`)
  .join(', ');
process.stdout.write(
  `${JSON.stringify({
    flags: process.execArgv.filter((flag) => flag.startsWith('--max')).join(' ') || 'default',
    requests,
    cpuMicrosPerRequest: Math.round((cpu.user + cpu.system) / requests),
    peakRssMb: Math.round(Number(peakKb) / 1024),
    gc,
  })}\n`,
);
await app.close();
