import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { DestinationPolicy } from './destination-policy.js';

/** What is kept of an answer: its first KiB (the `delivery_attempts.response_body` column). */
export const MAX_RESPONSE_BODY_BYTES = 1024;
/**
 * After the first KiB, up to this much more of an answer is read and dropped, so the
 * connection can carry the next attempt; a longer answer closes the connection instead.
 */
const MAX_DRAINED_BYTES = 64 * 1024;
/** Parsed destinations kept; far more than there are subscriptions, so nearly never cleared. */
const MAX_CACHED_TARGETS = 10_000;
/** Longest error text kept: enough for any code and message node gives. */
const MAX_ERROR_LENGTH = 500;

/** What one attempt came to; stored as a `delivery_attempts` row. */
export interface AttemptOutcome {
  /** A 2xx status came back. */
  delivered: boolean;
  /** The destination's status, when one came (3xx included: redirects are never followed). */
  httpStatus?: number;
  /** Why no status came: `ECONNREFUSED: …`, `timeout after 10000 ms`, `DESTINATION_REFUSED: …`. */
  error?: string;
  /** From the start of the attempt to its status and first KiB (or its failure), ms. */
  durationMs: number;
  /**
   * The first KiB of the answer as UTF-8 text (a character cut at the end is dropped; NUL
   * becomes U+FFFD, which PostgreSQL text cannot hold). Present whenever a status came.
   */
  responseBody?: string;
  /** The answer's `Retry-After` header as sent, if any. */
  retryAfter?: string;
}

export interface AttemptRequest {
  /** `http:` or `https:` URL of the subscription. */
  url: string;
  /** The body exactly as signed. */
  body: string;
  /** Request headers (`deliveryHeaders`); `content-length` is added. */
  headers: Readonly<Record<string, string>>;
  /** Bound on the whole attempt: resolving, connecting, sending, status and first KiB, ms. */
  timeoutMs: number;
  /** Aborts the attempt (shutdown); it then ends as not delivered. */
  signal?: AbortSignal;
}

export interface DeliverySenderOptions {
  /** Where deliveries may go; checked on the resolved address of every new connection. */
  policy: DestinationPolicy;
}

/** A parsed destination: the request options every attempt to it shares. */
interface Target {
  request: typeof http.request;
  options: http.RequestOptions;
}

/**
 * Sends single delivery attempts over keep-alive connections it owns. `send` never throws and
 * never follows a redirect; `close` ends every connection, idempotent.
 */
export class DeliverySender {
  readonly #policy: DestinationPolicy;
  readonly #httpAgent = new http.Agent({ keepAlive: true });
  readonly #httpsAgent = new https.Agent({ keepAlive: true });
  /** A parsed target, or the error text every attempt to that URL ends with. */
  readonly #targets = new Map<string, Target | string>();
  #closed = false;

  constructor({ policy }: DeliverySenderOptions) {
    this.#policy = policy;
  }

  /** POSTs once; resolves with what came of it, never rejects. */
  send(request: AttemptRequest): Promise<AttemptOutcome> {
    const startedAt = performance.now();
    if (this.#closed) return Promise.resolve(failed('the sender is closed', startedAt));
    if (request.signal?.aborted === true) return Promise.resolve(failed('aborted', startedAt));
    const target = this.#target(request.url);
    if (typeof target === 'string') return Promise.resolve(failed(target, startedAt));
    return attempt(target, request, startedAt);
  }

  /** Ends every connection, in-flight attempts included (they end as not delivered). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
    this.#targets.clear();
  }

  #target(url: string): Target | string {
    let target = this.#targets.get(url);
    if (target === undefined) {
      target = this.#parse(url);
      if (this.#targets.size >= MAX_CACHED_TARGETS) this.#targets.clear();
      this.#targets.set(url, target);
    }
    return target;
  }

  #parse(url: string): Target | string {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'ERR_INVALID_URL: not a URL';
    }
    const secure = parsed.protocol === 'https:';
    if (!secure && parsed.protocol !== 'http:') {
      return `ERR_INVALID_PROTOCOL: ${parsed.protocol} (only http: and https:)`;
    }
    const refused = this.#policy.refusalForHost(parsed.hostname);
    if (refused !== undefined) return describeError(refused);
    const options: http.RequestOptions = {
      method: 'POST',
      agent: secure ? this.#httpsAgent : this.#httpAgent,
      // URL keeps the brackets of an IPv6 literal; node:http wants the bare address.
      hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: parsed.port === '' ? (secure ? 443 : 80) : Number(parsed.port),
      path: `${parsed.pathname}${parsed.search}`,
      lookup: this.#policy.lookup,
    };
    if (parsed.username !== '' || parsed.password !== '') {
      options.auth = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
    }
    return { request: secure ? https.request : http.request, options };
  }
}

function attempt(
  target: Target,
  { body, headers, timeoutMs, signal }: AttemptRequest,
  startedAt: number,
): Promise<AttemptOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    let status: number | undefined;
    let retryAfter: string | undefined;
    let kept: Buffer[] | undefined;
    let keptBytes = 0;
    let drainedBytes = 0;

    /** Once a status came it decides, whatever happens to the rest of the answer. */
    const finish = (error: string) => {
      if (settled) return;
      settled = true;
      if (status === undefined) {
        resolve(failed(error, startedAt));
        return;
      }
      const outcome: AttemptOutcome = {
        delivered: status >= 200 && status < 300,
        httpStatus: status,
        durationMs: Math.round(performance.now() - startedAt),
        responseBody: textOf(kept, keptBytes),
      };
      if (retryAfter !== undefined) outcome.retryAfter = retryAfter;
      resolve(outcome);
    };

    let request: http.ClientRequest;
    try {
      request = target.request(target.options);
      for (const name in headers) request.setHeader(name, headers[name] as string);
      request.setHeader('content-length', Buffer.byteLength(body));
    } catch (err) {
      // Invalid header names or values throw before anything is sent.
      resolve(failed(describeError(err), startedAt));
      return;
    }

    const timer = setTimeout(() => {
      finish(`timeout after ${timeoutMs} ms`);
      // Also ends an answer still being drained after its first KiB.
      request.destroy();
    }, timeoutMs);
    const onAbort = () => {
      finish('aborted');
      request.destroy();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    request.on('error', (err) => finish(describeError(err)));
    request.on('close', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      finish('connection closed without an answer');
    });
    request.on('response', (response) => {
      status = response.statusCode;
      retryAfter = response.headers['retry-after'];
      response.on('data', (chunk: Buffer) => {
        if (settled) {
          drainedBytes += chunk.length;
          if (drainedBytes > MAX_DRAINED_BYTES) response.destroy();
          return;
        }
        const room = MAX_RESPONSE_BODY_BYTES - keptBytes;
        const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
        if (kept === undefined) kept = [part];
        else kept.push(part);
        keptBytes += part.length;
        if (keptBytes >= MAX_RESPONSE_BODY_BYTES) finish('');
      });
      response.on('end', () => finish(''));
      response.on('error', (err) => finish(describeError(err)));
    });
    request.end(body);
  });
}

function failed(error: string, startedAt: number): AttemptOutcome {
  return { delivered: false, error, durationMs: Math.round(performance.now() - startedAt) };
}

/** `CODE: message` (or the message alone when it names its code), short. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err).slice(0, MAX_ERROR_LENGTH);
  // Trying several addresses (IPv4 and IPv6) fails with an AggregateError without a message.
  const inner = err instanceof AggregateError && err.message === '' ? err.errors[0] : undefined;
  if (inner instanceof Error) return describeError(inner);
  const code = (err as NodeJS.ErrnoException).code;
  const message = err.message === '' ? err.name : err.message;
  const text = code === undefined || message.includes(code) ? message : `${code}: ${message}`;
  return text.slice(0, MAX_ERROR_LENGTH);
}

function textOf(parts: Buffer[] | undefined, bytes: number): string {
  if (parts === undefined) return '';
  let bodyStart = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, bytes);
  if (bytes >= MAX_RESPONSE_BODY_BYTES) bodyStart = bodyStart.subarray(0, completeUtf8(bodyStart));
  const text = bodyStart.toString('utf8');
  return text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}

/** The length of `bytes` without a UTF-8 sequence cut short at its end. */
function completeUtf8(bytes: Buffer): number {
  let start = bytes.length - 1;
  let continuation = 0;
  while (start >= 0 && continuation < 3 && ((bytes[start] ?? 0) & 0xc0) === 0x80) {
    start -= 1;
    continuation += 1;
  }
  const lead = bytes[start];
  if (lead === undefined) return bytes.length;
  const needed = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
  return needed > continuation ? start : bytes.length;
}
