import { randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

/** Marks the warm-up's own requests; only the value this process drew counts. */
const WARM_UP_HEADER = 'x-warm-up';

/** Requests the warm-up runs by default: enough for V8 to optimise the request path. */
export const DEFAULT_WARM_UP_REQUESTS = 3000;

/** Warm-up requests in flight at once, so that the promise and timer paths are exercised too. */
const WARM_UP_CONCURRENCY = 16;

/**
 * Connections the warm-up opens to its own port once it listens, all at once, with
 * `REQUESTS_PER_CONNECTION` requests on each: a fresh replica's first clients open many
 * connections together. Cold, the API was measured (1,543 requests/s with the consumer beside
 * it) to accept 256 new connections over 2.3 s, each waiting in the kernel's queue while the
 * clients had long been connected; warm, the same 256 were taken at once.
 */
export const WARM_UP_CONNECTIONS = 256;
const REQUESTS_PER_CONNECTION = 2;

/**
 * A fresh process answers its first requests slowly: V8 interprets the request path until it
 * has run often enough to be optimised, and lazily built parts (the body schema, serialisers)
 * are built on first use. Once the broker's channel is open and before `/readyz` answers 200,
 * the warm-up sends representative `POST /webhook` requests through the app's own path with
 * `app.inject` (parser, validation, hooks, the message built, published and confirmed), then,
 * once the server listens, through real connections to its own port (accepting a connection,
 * Node's HTTP parser, the socket writes). Their messages go where no queue takes them (see
 * `queueEventPublisher`): none is stored or delivered. Measured with a consumer storing beside
 * a fresh API at 1,543 requests/s (`pnpm bench --cold-start`), the first second's p99 was
 * 1.2-2.3 s in seven runs of eight with nothing published, 0.05-1.3 s (median 0.23 s) with both.
 *
 * Its requests carry a header with a random value drawn at start, which no client can know,
 * and only while the warm-up runs: they are answered as if confirmed, not published, and are
 * left out of the metrics and of the backlog's estimate.
 */
export class WarmUp {
  readonly #token = randomUUID();
  #done: boolean;
  #confirmed = 0;
  #answeredOverSockets = 0;

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

  /** Rehearsals the broker confirmed (sent where no queue takes them). */
  get confirmedRehearsals(): number {
    return this.#confirmed;
  }

  /** Rehearsals answered 200 over real connections to the server's own port. */
  get answeredOverSockets(): number {
    return this.#answeredOverSockets;
  }

  /** Called by the route for each rehearsal, with whether the broker confirmed its message. */
  noteRehearsal(confirmed: boolean): void {
    if (confirmed) this.#confirmed += 1;
  }

  /** Whether a request is one of the warm-up's own. Always false once it is done. */
  isRehearsal(headers: IncomingHttpHeaders): boolean {
    return !this.#done && headers[WARM_UP_HEADER] === this.#token;
  }

  /**
   * Sends `requests` warm-up requests to `app` with `app.inject`, then, if the server listens by
   * then, `connections` connections' worth over loopback to its own port (never beyond this
   * machine), then marks it done. Never rejects: a warm-up that fails (the app closing
   * meanwhile) only leaves the process cold, and it is logged.
   */
  async run(
    app: FastifyInstance,
    options: {
      requests: number;
      connections?: number;
      logger: FastifyBaseLogger;
      /** Waited for first (polled, never holding the process open): the broker's channel. */
      brokerReady?: () => boolean;
    },
  ): Promise<void> {
    let sent = 0;
    while (options.brokerReady !== undefined && !options.brokerReady()) {
      await new Promise((resolve) => setTimeout(resolve, 50).unref());
    }
    const startedAt = performance.now();
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
      const address = app.server.listening ? app.server.address() : null;
      if (address !== null && typeof address === 'object' && !this.#done) {
        this.#answeredOverSockets = await this.#overSockets(
          address,
          options.connections ?? WARM_UP_CONNECTIONS,
          sent,
        );
      }
      options.logger.info(
        {
          requests: sent,
          overSockets: this.#answeredOverSockets,
          confirmedByBroker: this.#confirmed,
          ms: Math.round(performance.now() - startedAt),
        },
        'warmed up',
      );
    } catch (err) {
      options.logger.warn({ err, requests: sent }, 'warm-up stopped early');
    } finally {
      this.#done = true;
    }
  }

  /**
   * `connections` connections to the server's own address, opened together, each carrying
   * `REQUESTS_PER_CONNECTION` rehearsals; resolves with the requests answered 200. A request
   * that fails only makes the warm-up shorter: no client request waits for this.
   */
  async #overSockets(address: AddressInfo, connections: number, first: number): Promise<number> {
    // A server on every address is reached on loopback; one on a given address, there.
    const host =
      address.address === '0.0.0.0'
        ? '127.0.0.1'
        : address.address === '::'
          ? '::1'
          : address.address;
    const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
    let answered = 0;
    const post = (i: number) =>
      new Promise<void>((resolve) => {
        const body = rehearsalBody(i);
        const request = http.request(
          {
            host,
            port: address.port,
            method: 'POST',
            path: '/webhook',
            agent,
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              [WARM_UP_HEADER]: this.#token,
            },
          },
          (response) => {
            response.resume();
            response.on('end', () => {
              if (response.statusCode === 200) answered += 1;
              resolve();
            });
            response.on('error', () => resolve());
          },
        );
        request.on('error', () => resolve());
        request.end(body);
      });
    try {
      await Promise.all(
        Array.from({ length: connections }, async (_, c) => {
          for (let r = 0; r < REQUESTS_PER_CONNECTION && !this.#done; r++) {
            await post(first + c * REQUESTS_PER_CONNECTION + r);
          }
        }),
      );
    } finally {
      agent.destroy();
    }
    return answered;
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
