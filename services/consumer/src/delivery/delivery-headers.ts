import { signWebhook } from './webhook-signature.js';

export const DELIVERY_USER_AGENT = 'webhook-pipeline';

export interface DeliveryHeadersOptions {
  /** `msg_` + the event row id: the same for every attempt and every subscription. */
  webhookId: string;
  /** The body exactly as it will be sent. */
  body: string;
  /** The subscription's secrets, current first (see `signWebhook`). */
  secrets: readonly string[];
  /** The time of this attempt, ms since the epoch. Default `Date.now()`. */
  nowMs?: number;
}

/**
 * The headers of one delivery attempt (Standard Webhooks): signed again at every attempt, since
 * receivers refuse a timestamp more than a few minutes old. Throws `InvalidSecretError` like
 * `signWebhook`.
 */
export function deliveryHeaders({
  webhookId,
  body,
  secrets,
  nowMs = Date.now(),
}: DeliveryHeadersOptions): Record<string, string> {
  const timestampSeconds = Math.floor(nowMs / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': DELIVERY_USER_AGENT,
    'webhook-id': webhookId,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signWebhook({ webhookId, timestampSeconds, body, secrets }),
  };
}
