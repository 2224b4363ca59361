import type { Database } from '@webhooks/db';
import { expect } from 'vitest';
import type { ReceivedDelivery, WebhookReceiver } from './webhook-receiver.js';

/** Stored events of one source held against what one subscriber received. */
export interface DeliveryReconciliation {
  /** Events of the source stored (each one's delivery is due to the subscriber). */
  stored: number;
  /**
   * Stored events whose `webhook-id` the subscriber never acknowledged: no verified receipt
   * answered 2xx with the answer going out. The promise broken. Must be empty.
   */
  missing: string[];
  /**
   * Verified receipts the subscriber accepted (answered 2xx, whether or not the sender was still
   * there to read it) beyond the first of their `webhook-id`: what its dedup by `webhook-id`
   * absorbs. At least once allows them.
   */
  duplicates: number;
  /** `webhook-id`s received (verified) that belong to no stored event of the source. Must be empty. */
  unknown: string[];
  /** Receipts no secret verified. Must be 0. */
  unverified: number;
}

/** Pure: holds the stored events' webhook-ids against the receipts. */
export function classifyDeliveries(
  storedWebhookIds: ReadonlySet<string>,
  received: readonly ReceivedDelivery[],
): DeliveryReconciliation {
  const accepted = new Map<string, number>();
  const acknowledged = new Set<string>();
  const unknown = new Set<string>();
  let unverified = 0;
  for (const receipt of received) {
    if (!receipt.verified || receipt.webhookId === undefined) {
      unverified += 1;
      continue;
    }
    const id = receipt.webhookId;
    if (!storedWebhookIds.has(id)) unknown.add(id);
    const answer = receipt.answer;
    if (typeof answer !== 'number' || answer < 200 || answer >= 300) continue;
    accepted.set(id, (accepted.get(id) ?? 0) + 1);
    if (receipt.answered) acknowledged.add(id);
  }
  let duplicates = 0;
  for (const count of accepted.values()) duplicates += count - 1;
  return {
    stored: storedWebhookIds.size,
    missing: [...storedWebhookIds].filter((id) => !acknowledged.has(id)),
    duplicates,
    unknown: [...unknown],
    unverified,
  };
}

/** The webhook-ids (`msg_` + row uuid) of every stored event of `source`. */
export async function storedWebhookIds(db: Database, source: string): Promise<Set<string>> {
  const rows = await db.query<{ webhookId: string }>(
    `SELECT 'msg_' || id AS "webhookId" FROM webhook_events WHERE source = $1`,
    [source],
  );
  return new Set(rows.rows.map((r) => r.webhookId));
}

/** The subscription's deliveries of `source` not `delivered` (yet). */
async function undelivered(db: Database, source: string, subscriptionId: string): Promise<number> {
  const rows = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM deliveries d JOIN webhook_events w ON w.id = d.event_row_id
     WHERE w.source = $1 AND d.subscription_id = $2 AND d.status <> 'delivered'`,
    [source, subscriptionId],
  );
  return rows.rows[0]?.n ?? 0;
}

/**
 * Waits (up to `timeoutMs`, default 30 s) until the subscriber has acknowledged every stored
 * event of `source` and the subscription's deliveries of them are all recorded `delivered`, then
 * asserts the promise: each stored event received, verified, at least once; after dedup by
 * `webhook-id`, exactly once (nothing missing, nothing unknown). Duplicates are allowed and
 * reported in the summary and the messages; `expectedStored`, when given, is asserted too.
 */
export async function expectEveryStoredDelivered(options: {
  db: Database;
  source: string;
  subscriptionId: string;
  receiver: WebhookReceiver;
  expectedStored?: number;
  timeoutMs?: number;
  label: string;
}): Promise<DeliveryReconciliation> {
  const { db, source, subscriptionId, receiver } = options;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let result: DeliveryReconciliation;
  let notDelivered: number;
  for (;;) {
    result = classifyDeliveries(await storedWebhookIds(db, source), receiver.received);
    notDelivered = await undelivered(db, source, subscriptionId);
    const settled = result.missing.length === 0 && notDelivered === 0;
    if ((settled && result.stored >= (options.expectedStored ?? 0)) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const summary =
    `${options.label}: ${result.stored} stored, ${receiver.received.length} received, ` +
    `missing ${result.missing.length}, duplicates ${result.duplicates}, ` +
    `unknown ${result.unknown.length}, unverified ${result.unverified}, ` +
    `not recorded delivered ${notDelivered}`;
  console.error(summary);
  if (options.expectedStored !== undefined)
    expect(result.stored, summary).toBe(options.expectedStored);
  expect(result.missing, summary).toEqual([]);
  expect(result.unknown, summary).toEqual([]);
  expect(result.unverified, summary).toBe(0);
  expect(notDelivered, summary).toBe(0);
  return result;
}
