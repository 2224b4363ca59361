import { randomUUID } from 'node:crypto';
import { deliveryHeaders } from './delivery-headers.js';
import { DestinationPolicy } from './destination-policy.js';
import { DeliverySender } from './send-attempt.js';

/** The `source` and `type` of a test event: it is sent, never stored. */
export const TEST_EVENT_SOURCE = 'webhooks';
export const TEST_EVENT_TYPE = 'webhook.test';

/** Where a test event goes: a subscription's URL, timeout and signing secrets. */
export interface TestEventDestination {
  subscriptionId: string;
  url: string;
  timeoutMs: number;
  /** Current first, then the one rotated out while still valid. */
  secrets: readonly string[];
}

/** What sending one test event came to, as `POST /subscriptions/:id/test` answers it. */
export interface TestEventResult {
  /** A 2xx came back. */
  delivered: boolean;
  /** The destination's status, when one came. */
  status?: number;
  /** Why no status came (timeout, refused, destination refused by policy). */
  error?: string;
  durationMs: number;
}

/** RFC 3339 UTC with microseconds, as stored events' timestamps are sent. */
function microsecondsNow(): string {
  return new Date().toISOString().replace('Z', '000Z');
}

/**
 * Sends signed test events (`webhook.test`) the way deliveries are sent: the same sender, so
 * the same destination policy, timeout and no redirects; nothing is stored or retried. Owns
 * its connections; `close()` is idempotent.
 */
export class TestEventSender {
  readonly #sender: DeliverySender;

  constructor(options: { allowedNetworks?: readonly string[] | undefined }) {
    this.#sender = new DeliverySender({
      policy: new DestinationPolicy({ allowedNetworks: options.allowedNetworks }),
    });
  }

  async send(destination: TestEventDestination): Promise<TestEventResult> {
    const id = randomUUID();
    const body = JSON.stringify({
      id,
      source: TEST_EVENT_SOURCE,
      type: TEST_EVENT_TYPE,
      timestamp: microsecondsNow(),
      data: {
        subscriptionId: destination.subscriptionId,
        message: 'A test event: not stored, not retried.',
      },
    });
    const outcome = await this.#sender.send({
      url: destination.url,
      body,
      headers: deliveryHeaders({ webhookId: `msg_${id}`, body, secrets: destination.secrets }),
      timeoutMs: destination.timeoutMs,
    });
    const result: TestEventResult = {
      delivered: outcome.delivered,
      durationMs: outcome.durationMs,
    };
    if (outcome.httpStatus !== undefined) result.status = outcome.httpStatus;
    if (outcome.error !== undefined) result.error = outcome.error;
    return result;
  }

  close(): void {
    this.#sender.close();
  }
}
