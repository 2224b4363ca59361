import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  RejectedRequestHeader,
  type RejectionReason,
  withoutCredentials,
} from '@webhooks/contracts';
import type { OutgoingMessage } from '@webhooks/queue';
import type { Logger } from 'pino';
import type { IngestMetrics } from './metrics.js';

/** A provider request refused with 401 or 404, as it arrived. */
export interface RejectedRequest {
  source: string;
  reason: RejectionReason;
  /** The verifier's finer reason, e.g. `signature_mismatch`. */
  detail?: string | undefined;
  rawBody: Buffer;
  headers: IncomingHttpHeaders;
  receivedAtMs: number;
  requestId: string;
}

/** Keeps refused requests for a later look and `pnpm rejected:replay`. */
export interface Quarantine {
  /** Returns at once; never throws. Keeping may fail: the answer already given stands. */
  keep(request: RejectedRequest): void;
}

/** `KEEP_REJECTED=false`. */
export const discardRejected: Quarantine = { keep: () => {} };

export interface QueueQuarantineOptions {
  /** A confirm publisher of its own, so kept requests never take the events' in-flight slots. */
  publish: (message: OutgoingMessage) => Promise<void>;
  /** The rejected queue, reached through the default exchange. */
  queue: string;
  /** Kept requests awaiting the broker's confirm at once; past it, more are not kept. */
  maxInFlight: number;
  metrics: Pick<IngestMetrics, 'quarantined'>;
  logger: Logger;
}

/**
 * Publishes each refused request to the bounded rejected queue, fire and forget: the 401/404
 * is answered without waiting, and a flood of forged requests costs at most `maxInFlight`
 * pending publishes here and the queue's caps at the broker. Outcomes are counted in
 * `rejected_requests_quarantined_total{outcome}`.
 */
export function queueQuarantine(options: QueueQuarantineOptions): Quarantine {
  let inFlight = 0;
  return {
    keep(request) {
      if (inFlight >= options.maxInFlight) {
        options.metrics.quarantined.inc({ outcome: 'busy' });
        return;
      }
      inFlight += 1;
      let message: OutgoingMessage;
      try {
        message = quarantineMessage(request, options.queue);
      } catch (err) {
        // Headers that cannot be encoded; never let that reach the answer.
        inFlight -= 1;
        options.metrics.quarantined.inc({ outcome: 'failed' });
        options.logger.warn({ err, source: request.source }, 'refused request not kept');
        return;
      }
      options
        .publish(message)
        .then(
          () => options.metrics.quarantined.inc({ outcome: 'kept' }),
          (err: unknown) => {
            options.metrics.quarantined.inc({ outcome: 'failed' });
            options.logger.debug({ err, source: request.source }, 'refused request not kept');
          },
        )
        .finally(() => {
          inFlight -= 1;
        });
    },
  };
}

/** The message of one kept request: the body as content, the rest in headers. */
export function quarantineMessage(request: RejectedRequest, queue: string): OutgoingMessage {
  const headers: Record<string, string> = {
    [RejectedRequestHeader.source]: request.source,
    [RejectedRequestHeader.reason]: request.reason,
    [RejectedRequestHeader.receivedAt]: new Date(request.receivedAtMs).toISOString(),
    [RejectedRequestHeader.requestId]: request.requestId,
    [RejectedRequestHeader.httpHeaders]: JSON.stringify(withoutCredentials(request.headers)),
  };
  if (request.detail !== undefined) headers[RejectedRequestHeader.detail] = request.detail;
  return {
    exchange: '',
    routingKey: queue,
    body: request.rawBody,
    properties: {
      messageId: randomUUID(),
      contentType: 'application/octet-stream',
      timestamp: Math.floor(request.receivedAtMs / 1000),
      appId: 'ingest-api',
      headers,
    },
  };
}
