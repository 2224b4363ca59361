import { randomBytes } from 'node:crypto';
import type { Database } from '@webhooks/db';
import { uniqueName } from './test-names.js';

export interface TestSubscriptionOptions {
  url: string;
  /** Default: a fresh one (`newSecret`). */
  secret?: string;
  /** Only events of these sources. Default: every source. */
  sources?: readonly string[];
  /** Only events of these types (a trailing `*` is a prefix). Default: every type. */
  types?: readonly string[];
  /** Default `[200, 400, 800]`. */
  retryDelaysMs?: readonly number[];
  /** Default 1000. */
  timeoutMs?: number;
  /** Default 10. */
  maxInFlight?: number;
}

/** A subscription as stored, with the secret its deliveries are signed with. */
export interface TestSubscription {
  id: string;
  name: string;
  secret: string;
}

/** A fresh `whsec_…` secret. */
export function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/**
 * Makes an active subscription by SQL, as its API would store it (the tests of delivery need
 * no API). Test-friendly defaults: short retries and timeout.
 */
export async function insertSubscription(
  db: Database,
  options: TestSubscriptionOptions,
): Promise<TestSubscription> {
  const name = uniqueName('subscription');
  const secret = options.secret ?? newSecret();
  const result = await db.query<{ id: string }>(
    `INSERT INTO subscriptions
       (name, url, sources, types, secret, retry_delays_ms, timeout_ms, max_in_flight)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [
      name,
      options.url,
      options.sources ?? null,
      options.types ?? null,
      secret,
      options.retryDelaysMs ?? [200, 400, 800],
      options.timeoutMs ?? 1000,
      options.maxInFlight ?? 10,
    ],
  );
  const id = result.rows[0]?.id;
  if (id === undefined) throw new Error('the subscription was not stored');
  return { id, name, secret };
}
