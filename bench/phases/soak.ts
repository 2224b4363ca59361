import { loadAverageNow, machineOf } from '../lib/result-file.js';
import type { Phase } from '../phase.js';
import type { FixedRate, SoakResult } from '../types.js';
import { runFixedRate } from './fixed-rate.js';

/**
 * `--soak`: one long fixed-rate run through the ingest API (default 1,500 requests/s for 600 s;
 * `--rate`/`--seconds` apply): latency and both services' RSS minute by minute, every 200 stored.
 */
export const soakPhase: Phase<SoakResult> = async (context) => {
  const { flags, env } = context;
  const startedAt = new Date();
  const loadAverageAtStart = loadAverageNow();
  const rate = flags.rate ?? 1500;
  const seconds = flags.seconds ?? 600;
  const run = await runFixedRate(context, {
    via: 'http',
    ratePerSecond: rate,
    seconds,
    warmupSeconds: 10,
  });
  const rssInMinute = (samples: FixedRate['ingest'], minute: number) =>
    samples.filter((s) => Math.floor(s.second / 60) === minute).at(-1)?.rssMb;
  return {
    startedAt: startedAt.toISOString(),
    mode: 'soak',
    queueType: env.queueType,
    serviceEnv: env.serviceEnv,
    machine: machineOf(loadAverageAtStart),
    ratePerSecond: rate,
    seconds,
    accepted: run.accepted,
    stored: run.stored,
    warmup: run.load.warmup,
    steady: run.load.steady,
    failures: run.load.failures,
    perMinute: run.load.perMinute.map((m, minute) => ({
      minute,
      requests: m.count,
      failed: m.failed,
      p50Ms: m.p50Ms,
      p99Ms: m.p99Ms,
      maxMs: m.maxMs,
      ingestRssMb: rssInMinute(run.ingest, minute),
      consumerRssMb: rssInMinute(run.consumer, minute),
    })),
    peakRssMb: env.peakRssMb,
  };
};
