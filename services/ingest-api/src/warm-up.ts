import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

/** Marks the warm-up's own requests; only the value this process drew counts. */
const WARM_UP_HEADER = 'x-warm-up';

/** Requests the warm-up runs by default: enough for V8 to optimise the request path. */
export const DEFAULT_WARM_UP_REQUESTS = 3000;

/** Warm-up requests in flight at once, so that the promise and timer paths are exercised too. */
const WARM_UP_CONCURRENCY = 16;

/**
 * A fresh process answers its first requests slowly: V8 interprets the request path until it
 * has run often enough to be optimised, and lazily built parts (the body schema, serialisers)
 * are built on first use. Before `/readyz` answers 200, the warm-up sends representative
 * `POST /webhook` requests through the app's own path with `app.inject` (parser, validation,
 * hooks, the event's serialisation for the broker) and publishes none of them.
 *
 * Its requests carry a header with a random value drawn at start, which no client can know,
 * and only while the warm-up runs: they are answered as if confirmed, not published, and are
 * left out of the metrics and of the backlog's estimate.
 */
export class WarmUp {
  readonly #token = randomUUID();
  #done: boolean;

  constructor(options: { done?: boolean } = {}) {
    this.#done = options.done ?? false;
  }

  /** A warm-up that has nothing to run: apps built without one are ready at once. */
  static finished(): WarmUp {
    return new WarmUp({ done: true });
  }

  /** True once the warm-up has run (or failed); `/readyz` waits for it. */
  get done(): boolean {
    return this.#done;
  }

  /** Whether a request is one of the warm-up's own. Always false once it is done. */
  isRehearsal(headers: IncomingHttpHeaders): boolean {
    return !this.#done && headers[WARM_UP_HEADER] === this.#token;
  }

  /**
   * Sends `requests` warm-up requests to `app` (never over the network), then marks it done.
   * Never rejects: a warm-up that fails (the app closing meanwhile) only leaves the process
   * cold, and it is logged.
   */
  async run(
    app: FastifyInstance,
    options: { requests: number; logger: FastifyBaseLogger },
  ): Promise<void> {
    const startedAt = performance.now();
    let sent = 0;
    try {
      const worker = async () => {
        while (sent < options.requests && !this.#done) {
          const i = sent++;
          await app.inject({
            method: 'POST',
            url: '/webhook',
            headers: {
              'content-type': 'application/json',
              [WARM_UP_HEADER]: this.#token,
              ...(i % 3 === 0 ? { 'idempotency-key': `warm-up-${i}` } : {}),
            },
            payload: rehearsalBody(i),
          });
        }
      };
      await Promise.all(Array.from({ length: WARM_UP_CONCURRENCY }, worker));
      options.logger.info(
        { requests: sent, ms: Math.round(performance.now() - startedAt) },
        'warmed up',
      );
    } catch (err) {
      options.logger.warn({ err, requests: sent }, 'warm-up stopped early');
    } finally {
      this.#done = true;
    }
  }
}

/** Bodies shaped like real events: ids or none, timestamps or none, nested data of a few sizes. */
function rehearsalBody(i: number): string {
  return JSON.stringify({
    source: 'warm-up',
    type: i % 2 === 0 ? 'warm-up.created' : 'warm-up.updated',
    ...(i % 3 === 1 ? { id: `warm-up-${i}` } : {}),
    ...(i % 4 === 0 ? { timestamp: new Date().toISOString() } : {}),
    data: {
      number: i,
      amount: i / 7,
      name: `item ${i}`,
      active: i % 2 === 0,
      tags: Array.from({ length: i % 5 }, (_, t) => `tag-${t}`),
      nested: { level: { value: i, note: null } },
    },
  });
}
