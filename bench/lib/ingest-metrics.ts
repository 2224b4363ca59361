import type { ServerTime } from '../types.js';
import { round } from './latency-seconds.js';
import { parsePrometheusText, sumOf } from './prometheus-text.js';
import type { Service } from './services.js';

/**
 * Webhooks the running ingest API answered 200, from its own counter. The load generator's
 * count stops at the end of its window; requests still in flight then are answered too.
 */
export async function acceptedBy(ingest: Service): Promise<number> {
  const text = await (await fetch(ingest.url('/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith('webhooks_accepted_total '));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

/**
 * `acceptedBy` once requests still in flight when the load generator stopped have been
 * answered: the count has not moved for a second (or 30 s passed). Read earlier, the queue or
 * table would hold events the count has not seen yet.
 */
export async function settledAccepted(ingest: Service): Promise<number> {
  const deadline = Date.now() + 30_000;
  let accepted = await acceptedBy(ingest);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = await acceptedBy(ingest);
    if (now === accepted || Date.now() > deadline) return now;
    accepted = now;
  }
}

/**
 * The ingest's own account of a request's time, from its `/metrics`: the mean time Fastify
 * measured for `POST /webhook`, and the mean wait for the broker's confirm within it.
 */
export async function serverTimeOf(ingest: Service): Promise<ServerTime> {
  const scrape = parsePrometheusText(await (await fetch(ingest.url('/metrics'))).text());
  const mean = (name: string, filter: string) =>
    round(
      (sumOf(scrape, `${name}_sum`, filter) / sumOf(scrape, `${name}_count`, filter)) * 1000,
      2,
    );
  return {
    requestMeanMs: mean('http_request_duration_seconds', 'route="/webhook"'),
    confirmMeanMs: mean('publish_confirm_duration_seconds', 'outcome="confirmed"'),
  };
}
