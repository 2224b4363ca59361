import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { freePort } from './free-port.js';

/** One POST the receiver got, in arrival order. */
export interface ReceivedDelivery {
  /** The `webhook-id` header (undefined when missing). */
  readonly webhookId: string | undefined;
  /** The `webhook-timestamp` header, seconds as sent. */
  readonly timestamp: string | undefined;
  /** The `webhook-signature` header as sent (`v1,<base64>`, space-separated when several). */
  readonly signature: string | undefined;
  /** The body exactly as received, decoded as UTF-8. */
  readonly rawBody: string;
  /** Every request header, lower-case names. */
  readonly headers: http.IncomingHttpHeaders;
  /** The request path (`/hook` for `url`). */
  readonly path: string;
  /** Whether `standardwebhooks` verified the signature with one of the secrets. */
  readonly verified: boolean;
  /** When the whole body had arrived, ms since the epoch. */
  readonly at: number;
  /**
   * What it was answered: a status, `'hang'`, `'reset'`, or undefined while `respond` has not
   * decided yet.
   */
  answer: number | 'hang' | 'reset' | undefined;
  /**
   * Whether the answer went out whole on a connection still open: false while undecided, for
   * `'hang'` and `'reset'`, and when the sender was seen gone (e.g. killed) before it was written.
   * A sender that died a moment before the write may still count: the kernel takes the bytes.
   */
  answered: boolean;
}

/**
 * How to answer one verified delivery: a status (empty body), a status with headers and body
 * (`{ status: 302, headers: { location } }`), `'hang'` (never answer; the socket stays open until
 * `close()`), or `'reset'` (destroy the connection with a TCP reset, no answer).
 */
export type ReceiverAnswer =
  | number
  | 'hang'
  | 'reset'
  | {
      status: number;
      headers?: Readonly<Record<string, string>>;
      body?: string | Buffer;
    };

export interface WebhookReceiverOptions {
  /**
   * The `whsec_…` secrets a delivery may be signed with; a function is asked again for each
   * request (rotation in the middle of a test).
   */
  secrets: readonly string[] | (() => readonly string[]);
  /**
   * Chooses the answer to each verified delivery, which is already in `received`. Default: 200.
   * Deliveries no secret verifies are always answered 400 without asking.
   */
  respond?: (delivery: ReceivedDelivery) => ReceiverAnswer | Promise<ReceiverAnswer>;
  /** The port to listen on (a destination coming back where it was). Default: a free one. */
  port?: number;
}

/**
 * A real HTTP server on 127.0.0.1 that receives deliveries the way a subscriber would: it
 * verifies every POST with the `standardwebhooks` library as published and records it.
 */
export class WebhookReceiver {
  /** Every POST, in arrival order (verified or not). */
  readonly received: ReceivedDelivery[] = [];
  /** `http://127.0.0.1:<port>/hook`. */
  readonly url: string;
  readonly #server: http.Server;
  readonly #options: WebhookReceiverOptions;
  readonly #verifiers = new Map<string, Webhook>();
  readonly #sockets = new Set<Socket>();
  readonly #waiters = new Set<() => void>();
  #connections = 0;
  #closing: Promise<void> | undefined;

  private constructor(server: http.Server, options: WebhookReceiverOptions) {
    this.#server = server;
    this.#options = options;
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/hook`;
    server.on('connection', (socket) => {
      this.#connections += 1;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    server.on('request', (request, response) => this.#handle(request, response));
  }

  static async start(options: WebhookReceiverOptions): Promise<WebhookReceiver> {
    const server = http.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new WebhookReceiver(server, options);
  }

  /** TCP connections accepted so far (0 proves a sender never connected). */
  get connections(): number {
    return this.#connections;
  }

  /** The `webhook-id`s of deliveries that verified and were answered 2xx. */
  uniqueIds(): Set<string> {
    const ids = new Set<string>();
    for (const delivery of this.received) {
      if (
        delivery.verified &&
        delivery.webhookId !== undefined &&
        typeof delivery.answer === 'number' &&
        delivery.answer >= 200 &&
        delivery.answer < 300
      ) {
        ids.add(delivery.webhookId);
      }
    }
    return ids;
  }

  /** Resolves with `received` once it holds at least `count` deliveries; fails after the deadline. */
  waitForCount(count: number, timeoutMs = 10_000): Promise<readonly ReceivedDelivery[]> {
    if (this.received.length >= count) return Promise.resolve(this.received);
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.received.length < count) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(this.received);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${count} deliveries; got ${this.received.length}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Stops listening and destroys every open connection, hanging ones included. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
      for (const socket of this.#sockets) socket.destroy();
    });
    return this.#closing;
  }

  #handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    if (request.method !== 'POST') {
      request.resume();
      response.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const delivery: ReceivedDelivery = {
        webhookId: single(request.headers['webhook-id']),
        timestamp: single(request.headers['webhook-timestamp']),
        signature: single(request.headers['webhook-signature']),
        rawBody,
        headers: request.headers,
        path: request.url ?? '',
        verified: this.#verify(rawBody, request.headers),
        at: Date.now(),
        answer: undefined,
        answered: false,
      };
      this.received.push(delivery);
      for (const waiter of [...this.#waiters]) waiter();
      if (!delivery.verified) {
        delivery.answer = 400;
        response.once('finish', () => {
          delivery.answered = true;
        });
        response.writeHead(400, { 'content-type': 'text/plain' }).end('signature not verified');
        return;
      }
      void this.#answer(delivery, request, response);
    });
  }

  async #answer(
    delivery: ReceivedDelivery,
    request: http.IncomingMessage,
    response: http.ServerResponse,
  ): Promise<void> {
    let answer: ReceiverAnswer;
    try {
      answer = (await this.#options.respond?.(delivery)) ?? 200;
    } catch (err) {
      answer = { status: 599, body: `respond threw: ${String(err)}` };
    }
    delivery.answer = typeof answer === 'object' ? answer.status : answer;
    if (this.#closing !== undefined || response.destroyed) return;
    if (answer === 'hang') return;
    response.once('finish', () => {
      delivery.answered = true;
    });
    if (answer === 'reset') {
      request.socket.resetAndDestroy();
      return;
    }
    if (typeof answer === 'number') {
      response.writeHead(answer).end();
      return;
    }
    response.writeHead(answer.status, answer.headers).end(answer.body);
  }

  #verify(rawBody: string, headers: http.IncomingHttpHeaders): boolean {
    const signed = {
      'webhook-id': single(headers['webhook-id']) ?? '',
      'webhook-timestamp': single(headers['webhook-timestamp']) ?? '',
      'webhook-signature': single(headers['webhook-signature']) ?? '',
    };
    const secrets =
      typeof this.#options.secrets === 'function' ? this.#options.secrets() : this.#options.secrets;
    for (const secret of secrets) {
      let verifier = this.#verifiers.get(secret);
      if (verifier === undefined) {
        verifier = new Webhook(secret);
        this.#verifiers.set(secret, verifier);
      }
      try {
        verifier.verify(rawBody, signed, { jsonParse: false });
        return true;
      } catch {
        // Not this secret (or a bad timestamp): try the next one.
      }
    }
    return false;
  }
}

/** A URL on 127.0.0.1 where nothing listens (a port that was free a moment ago). */
export async function unusedUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}/hook`;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
