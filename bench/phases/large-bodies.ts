import { waitForRows } from '../lib/event-rows.js';
import { BENCH_SOURCE } from '../lib/payload.js';
import { parsePrometheusText, sumOf } from '../lib/prometheus-text.js';
import type { Service } from '../lib/services.js';
import type { Phase } from '../phase.js';
import type { LargeBodies } from '../types.js';

/** The case the consumer's byte bound (`PREFETCH_MAX_BYTES`) is for: bodies near the 1 MiB cap. */
const BODIES = 120;
const BODY_BYTES = 900 * 1024;
const CONNECTIONS = 8;
const TYPE = 'large-body';

/** A webhook body of about `BODY_BYTES`: an order with many lines, as a large export sends. */
function largeBody(index: number): string {
  const lines: Array<{ sku: string; qty: number; unitPrice: number; note: string }> = [];
  const body = { source: BENCH_SOURCE, type: TYPE, id: `large-${index}`, data: { lines } };
  let size = JSON.stringify(body).length;
  while (size < BODY_BYTES) {
    const line = {
      sku: `SKU-${lines.length}`,
      qty: (lines.length % 7) + 1,
      unitPrice: 1999 + lines.length,
      note: 'gift wrap, deliver after 6 pm',
    };
    lines.push(line);
    size += JSON.stringify(line).length + 1;
  }
  return JSON.stringify(body);
}

/**
 * `BODIES` bodies of about 900 KiB through the ingest API while the consumer is stopped, then
 * the consumer alone drains them: the worst case for what it holds, every body waiting when it
 * starts. Reports the consumer's peak RSS, the unacked bytes it reported (sampled), and that
 * none was retried, dead-lettered or lost.
 */
export const largeBodiesPhase: Phase<LargeBodies> = async ({ env, log }) => {
  const { db } = env;
  // Its own peak: the overall one stays that of small bodies, comparable with earlier runs.
  const stop = async (services: { ingest?: Service; consumer?: Service }) => {
    await env.stopServices('large-bodies', services, { inOverallPeak: false });
    return env.peakRssByPhase['large-bodies'] ?? {};
  };
  log(`large bodies: ${BODIES} × ${BODY_BYTES / 1024} KiB through the API, then the consumer`);
  const topology = env.freshTopology('large');
  const ingest = await env.startIngest(topology);
  let accepted = 0;
  let next = 0;
  try {
    const send = async () => {
      for (let i = next++; i < BODIES; i = next++) {
        const response = await fetch(ingest.url('/webhook'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: largeBody(i),
        });
        await response.arrayBuffer();
        if (response.status === 200) accepted += 1;
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, send));
  } catch (err) {
    await stop({ ingest });
    throw err;
  }
  const ingestPeak = await stop({ ingest });

  const started = Date.now();
  const consumer = await env.startConsumer(topology);
  let unackedMaxBytes = 0;
  const sampler = setInterval(async () => {
    try {
      const scrape = parsePrometheusText(await (await fetch(consumer.url('/metrics'))).text());
      unackedMaxBytes = Math.max(unackedMaxBytes, sumOf(scrape, 'unacked_bytes'));
    } catch {
      // a missed sample
    }
  }, 100);
  let consumerPeak: number | undefined;
  try {
    const stored = await waitForRows(db, TYPE, accepted, 120_000);
    const seconds = (Date.now() - started) / 1000;
    clearInterval(sampler);
    const scrape = parsePrometheusText(await (await fetch(consumer.url('/metrics'))).text());
    consumerPeak = (await stop({ consumer })).consumer;
    return {
      bodies: BODIES,
      bodyBytes: BODY_BYTES,
      accepted,
      stored,
      seconds: Math.round(seconds * 10) / 10,
      retried: sumOf(scrape, 'messages_retried_total'),
      deadLettered: sumOf(scrape, 'messages_dead_lettered_total'),
      handedBack: sumOf(scrape, 'messages_returned_unread_total'),
      unackedMaxMb: Math.round((unackedMaxBytes / 2 ** 20) * 10) / 10,
      peakRssMb: { ingest: ingestPeak.ingest, consumer: consumerPeak },
    };
  } finally {
    clearInterval(sampler);
    if (consumerPeak === undefined) await stop({ consumer });
  }
};
