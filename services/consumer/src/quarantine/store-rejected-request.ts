import {
  HttpHeaders,
  RejectedRequestHeader,
  RejectedRequestMeta,
  toValidationIssues,
} from '@webhooks/contracts';
import { PermanentDatabaseError, type RejectedRequestRow } from '@webhooks/db';
import type { Delivery } from '@webhooks/queue';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';

/** Reads one message of the rejected queue at the edge, with the contract's schema. */
export function decodeRejectedRequest(
  delivery: Pick<Delivery, 'body' | 'headers' | 'properties'>,
): { ok: true; row: RejectedRequestRow } | { ok: false; problem: string } {
  const header = (name: string): string | undefined => {
    const value = delivery.headers[name];
    if (typeof value === 'string') return value;
    return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
  };
  let headers: unknown;
  try {
    headers = JSON.parse(header(RejectedRequestHeader.httpHeaders) ?? 'null');
  } catch {
    return { ok: false, problem: `${RejectedRequestHeader.httpHeaders} is not JSON` };
  }
  const meta = RejectedRequestMeta.safeParse({
    id: delivery.properties.messageId,
    source: header(RejectedRequestHeader.source),
    reason: header(RejectedRequestHeader.reason),
    detail: header(RejectedRequestHeader.detail),
    receivedAt: header(RejectedRequestHeader.receivedAt),
    requestId: header(RejectedRequestHeader.requestId),
    headers: HttpHeaders.safeParse(headers).success ? headers : undefined,
  });
  if (!meta.success) {
    const issue = toValidationIssues(meta.error)[0];
    return { ok: false, problem: `${issue?.path ?? '?'}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, row: { ...meta.data, body: delivery.body } };
}

export interface RejectedRequestStoreOptions {
  insert: (row: RejectedRequestRow) => Promise<boolean>;
  logger: Logger;
  /** `rejected_requests_stored_total{outcome}`. */
  stored: Counter<'outcome'>;
  /** Wait before handing back a message the database could not take now, ms. Default 1000. */
  retryDelayMs?: number;
}

/**
 * Stores the rejected queue's messages in `rejected_requests`, one at a time, acking each once
 * stored. While the database is away a message is handed back after a pause (the queue's caps
 * bound what waits meanwhile); one the database refuses as data, or that breaks the contract,
 * is dropped with a log line: it is a refused request, not an accepted event.
 */
export class RejectedRequestStore {
  readonly #options: RejectedRequestStoreOptions;
  readonly #abort = new AbortController();
  #chain: Promise<void> = Promise.resolve();

  constructor(options: RejectedRequestStoreOptions) {
    this.#options = options;
  }

  readonly onDelivery = (delivery: Delivery): void => {
    this.#chain = this.#chain.then(() => this.#store(delivery));
  };

  /** Finishes the message in hand (without the pause before a hand-back). */
  async drain(): Promise<void> {
    this.#abort.abort();
    await this.#chain;
  }

  async #store(delivery: Delivery): Promise<void> {
    const { logger, stored } = this.#options;
    if (!delivery.settleable) return;
    const decoded = decodeRejectedRequest(delivery);
    if (!decoded.ok) {
      logger.warn({ problem: decoded.problem }, 'rejected-queue message dropped: not the contract');
      stored.inc({ outcome: 'malformed' });
      delivery.ack();
      return;
    }
    try {
      const inserted = await this.#options.insert(decoded.row);
      stored.inc({ outcome: inserted ? 'stored' : 'duplicate' });
      delivery.ack();
    } catch (err) {
      if (err instanceof PermanentDatabaseError) {
        logger.warn({ err, id: decoded.row.id }, 'kept request dropped: refused by the database');
        stored.inc({ outcome: 'refused' });
        delivery.ack();
        return;
      }
      stored.inc({ outcome: 'failed' });
      logger.debug({ err, id: decoded.row.id }, 'kept request not stored; handing it back');
      await pause(this.#options.retryDelayMs ?? 1000, this.#abort.signal);
      delivery.nack({ requeue: true });
    }
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
