import type { Database } from './database.js';
import { PermanentDatabaseError } from './errors.js';
import { utcText } from './utc-text.js';

export type SubscriptionState = 'active' | 'paused';

/**
 * Which events a subscription is sent: those of one of `sources` and one of `types` (a type
 * ending in `*` is a prefix). An absent list matches every source (type).
 */
export interface SubscriptionFilter {
  sources?: string[] | undefined;
  types?: string[] | undefined;
}

/**
 * Events with the same value at `key` (a JSON pointer into the event as sent) are sent one at a
 * time, in the order their inserts committed.
 */
export interface SubscriptionOrdering {
  key: string;
}

/** How a subscription's deliveries went, from `deliveries` and `delivery_attempts`. */
export interface SubscriptionHealth {
  /** Delivered within the last hour. */
  deliveredLastHour: number;
  /** Failed (retries exhausted) with a last attempt within the last hour. */
  failedLastHour: number;
  /** Failed (retries exhausted), whenever: replayable. */
  failed: number;
  /** Waiting for a first attempt or a retry, or being sent. */
  pending: number;
  /** The latest attempt that got no 2xx: its error, or `HTTP <status>`. */
  lastError: { at: string; error: string } | null;
}

/**
 * A subscription as the ops API shows it: never its secrets. Times are RFC 3339 UTC with
 * microseconds.
 */
export interface Subscription {
  id: string;
  name: string;
  url: string;
  /** null: every event. */
  filter: SubscriptionFilter | null;
  retryDelaysMs: number[];
  timeoutMs: number;
  maxInFlight: number;
  /** Most deliveries started per second, across every process; null: no limit. */
  rateLimitPerSecond: number | null;
  /** null: deliveries are sent in no particular order. */
  ordering: SubscriptionOrdering | null;
  state: SubscriptionState;
  /**
   * Why it was paused when the senders paused it (every attempt failed for a while); null when
   * active or paused by an operator.
   */
  pausedReason: string | null;
  /** When it was paused; null when active. */
  pausedAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** Until when deliveries are also signed with the secret rotated out; null when none is. */
  previousSecretExpiresAt: string | null;
  health: SubscriptionHealth;
}

/** A subscription to create, every setting given (the ops API applies the defaults). */
export interface NewSubscription {
  name: string;
  url: string;
  filter: SubscriptionFilter | null;
  /** `whsec_` + base64. */
  secret: string;
  retryDelaysMs: readonly number[];
  timeoutMs: number;
  maxInFlight: number;
  rateLimitPerSecond: number | null;
  ordering: SubscriptionOrdering | null;
}

/**
 * The settings to change; absent ones keep their value. A `filter` replaces the whole filter
 * (null: every event). A `secret` other than the current one rotates it (see `update`).
 */
export type SubscriptionChanges = { [K in keyof NewSubscription]?: NewSubscription[K] | undefined };

/** How a deletion went: `active` when deliveries still wait and the subscription is not paused. */
export type SubscriptionDeletion = 'deleted' | 'active' | 'not_found';

/** The name is another subscription's (`subscriptions_name_key`). */
export class SubscriptionNameTakenError extends PermanentDatabaseError {
  override name = 'SubscriptionNameTakenError';
  readonly subscriptionName: string;

  constructor(subscriptionName: string, cause: PermanentDatabaseError) {
    super(`a subscription named '${subscriptionName}' exists already`, {
      cause,
      code: cause.code,
    });
    this.subscriptionName = subscriptionName;
  }
}

/**
 * How long deliveries are still signed with a secret after it was rotated out, so a receiver
 * can switch to the new one without refusing a delivery (Standard Webhooks allows several
 * signatures in `webhook-signature`).
 */
export const PREVIOUS_SECRET_VALID_HOURS = 24;

/** Most subscriptions in one page of `list`. */
const MAX_PAGE = 500;

/**
 * SQL for the secrets deliveries of the subscription `alias` are signed with: the current one,
 * then the one rotated out while it has not expired. For statements that load subscriptions
 * to send to.
 */
export function signingSecretsSql(alias: string): string {
  return `array_remove(ARRAY[${alias}.secret,
    CASE WHEN ${alias}.previous_secret_expires_at > now() THEN ${alias}.previous_secret END],
    NULL)`;
}

/**
 * The health of the subscription `s`, each part on an index: `deliveries_delivered_idx`,
 * `deliveries_failed_idx`, `deliveries_pending_idx`, and `delivery_attempts_failed_idx` (the subscription's
 * latest attempt without a 2xx). An attempt with no status
 * (timeout, refused) carries its error.
 */
const HEALTH = `
  json_build_object(
    'deliveredLastHour', (
      SELECT count(*)::int FROM deliveries d
      WHERE d.subscription_id = s.id AND d.delivered_at >= now() - interval '1 hour'),
    'failedLastHour', (
      SELECT count(*)::int FROM deliveries d
      WHERE d.subscription_id = s.id AND d.status = 'failed'
        AND d.last_attempt_at >= now() - interval '1 hour'),
    'failed', (
      SELECT count(*)::int FROM deliveries d
      WHERE d.subscription_id = s.id AND d.status = 'failed'),
    'pending', (
      SELECT count(*)::int FROM deliveries d
      WHERE d.subscription_id = s.id AND d.status = 'pending'),
    'lastError', (
      SELECT json_build_object(
        'at', ${utcText('a.attempted_at')},
        'error', coalesce(a.error, 'HTTP ' || a.http_status, 'no answer'))
      FROM delivery_attempts a
      WHERE a.subscription_id = s.id
        AND (a.http_status IS NULL OR a.http_status NOT BETWEEN 200 AND 299)
      ORDER BY a.attempted_at DESC, a.id DESC
      LIMIT 1))`;

/**
 * The select list of a `Subscription` from `s` (`subscriptions` or a CTE of its rows). With
 * `list`, the health is computed for the page's rows only.
 */
const SUBSCRIPTION_COLUMNS = `
  s.id, s.name, s.url,
  CASE WHEN s.sources IS NOT NULL OR s.types IS NOT NULL
    THEN jsonb_strip_nulls(jsonb_build_object('sources', s.sources, 'types', s.types))
  END AS filter,
  s.retry_delays_ms AS "retryDelaysMs", s.timeout_ms AS "timeoutMs",
  s.max_in_flight AS "maxInFlight", s.rate_limit_per_second AS "rateLimitPerSecond",
  CASE WHEN s.ordering_key IS NOT NULL
    THEN json_build_object('key', s.ordering_key) END AS ordering,
  s.state,
  s.paused_reason AS "pausedReason", ${utcText('s.paused_at')} AS "pausedAt",
  ${utcText('s.created_at')} AS "createdAt",
  ${utcText('s.updated_at')} AS "updatedAt",
  ${utcText('CASE WHEN s.previous_secret_expires_at > now() THEN s.previous_secret_expires_at END')}
    AS "previousSecretExpiresAt",
  ${HEALTH} AS health`;

/** `subscriptions`: managed on the ops API, read by whatever sends deliveries. */
export class SubscriptionsRepository {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * Stores a new subscription, active, and returns it. Throws `SubscriptionNameTakenError` when
   * another one has its name, a classified `DatabaseError` otherwise.
   */
  async create(subscription: NewSubscription): Promise<Subscription> {
    const { filter } = subscription;
    const row = await this.#one(
      `WITH s AS (
         INSERT INTO subscriptions (name, url, sources, types, secret, retry_delays_ms,
           timeout_ms, max_in_flight, rate_limit_per_second, ordering_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         RETURNING *)
       SELECT ${SUBSCRIPTION_COLUMNS} FROM s`,
      [
        subscription.name,
        subscription.url,
        filter?.sources ?? null,
        filter?.types ?? null,
        subscription.secret,
        subscription.retryDelaysMs,
        subscription.timeoutMs,
        subscription.maxInFlight,
        subscription.rateLimitPerSecond,
        subscription.ordering?.key ?? null,
      ],
      subscription.name,
    );
    if (row === undefined) throw new Error('subscription insert returned no row');
    return row;
  }

  /**
   * Subscriptions by name, `limit` at most (up to 500) after the name `after`; `next` is the
   * `after` of the following page, undefined on the last one.
   */
  async list(page: {
    after?: string | undefined;
    limit: number;
  }): Promise<{ items: Subscription[]; next: string | undefined }> {
    const limit = Math.min(page.limit, MAX_PAGE);
    // One row more than asked for tells whether another page follows.
    const result = await this.#db.query<Subscription>(
      `SELECT ${SUBSCRIPTION_COLUMNS}
       FROM (
         SELECT * FROM subscriptions
         WHERE $1::text IS NULL OR name > $1::text
         ORDER BY name
         LIMIT $2) s
       ORDER BY s.name`,
      [page.after ?? null, limit + 1],
    );
    const items = result.rows.slice(0, limit);
    const more = result.rows.length > limit;
    return { items, next: more ? items.at(-1)?.name : undefined };
  }

  /** Whether a subscription has this id (without computing its health). */
  async exists(id: string): Promise<boolean> {
    const result = await this.#db.query('SELECT 1 FROM subscriptions WHERE id = $1', [id]);
    return result.rowCount === 1;
  }

  /** The subscription with this uuid, or undefined. */
  async findById(id: string): Promise<Subscription | undefined> {
    const result = await this.#db.query<Subscription>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions s WHERE s.id = $1`,
      [id],
    );
    return result.rows[0];
  }

  /**
   * Changes the given settings and returns the subscription, or undefined when there is none
   * with this uuid. A new `secret` moves the current one to `previous_secret`, valid for
   * `PREVIOUS_SECRET_VALID_HOURS` more (a secret rotated out earlier is dropped); the current
   * secret given again changes nothing. Throws `SubscriptionNameTakenError` when another
   * subscription has the new name, a classified `DatabaseError` otherwise.
   */
  async update(id: string, changes: SubscriptionChanges): Promise<Subscription | undefined> {
    const values: unknown[] = [];
    const parameter = (value: unknown, type: string) => {
      values.push(value);
      return `$${values.length}::${type}`;
    };
    const assignments = ['updated_at = now()'];
    const assign = (column: string, value: unknown, type: string) => {
      if (value !== undefined) assignments.push(`${column} = ${parameter(value, type)}`);
    };
    assign('name', changes.name, 'text');
    assign('url', changes.url, 'text');
    if (changes.filter !== undefined) {
      assign('sources', changes.filter?.sources ?? null, 'text[]');
      assign('types', changes.filter?.types ?? null, 'text[]');
    }
    assign('retry_delays_ms', changes.retryDelaysMs, 'int[]');
    assign('timeout_ms', changes.timeoutMs, 'int');
    assign('max_in_flight', changes.maxInFlight, 'int');
    assign('rate_limit_per_second', changes.rateLimitPerSecond, 'int');
    // Deliveries made before keep their key and place; the new setting orders those made after.
    if (changes.ordering !== undefined) {
      assign('ordering_key', changes.ordering?.key ?? null, 'text');
    }
    if (changes.secret !== undefined) {
      // On the right of SET, `secret` is the value before this update.
      const secret = parameter(changes.secret, 'text');
      const rotated = `secret <> ${secret}`;
      assignments.push(
        `secret = ${secret}`,
        `previous_secret = CASE WHEN ${rotated} THEN secret ELSE previous_secret END`,
        `previous_secret_expires_at = CASE WHEN ${rotated}
           THEN now() + interval '${PREVIOUS_SECRET_VALID_HOURS} hours'
           ELSE previous_secret_expires_at END`,
      );
    }
    return this.#one(
      `WITH s AS (
         UPDATE subscriptions SET ${assignments.join(', ')}
         WHERE id = ${parameter(id, 'uuid')}
         RETURNING *)
       SELECT ${SUBSCRIPTION_COLUMNS} FROM s`,
      values,
      changes.name,
    );
  }

  /**
   * Sets the subscription's state: `paused` stops its deliveries from being claimed (attempts
   * open now finish) while new ones keep being made; `active` lets them all go. Returns the
   * subscription, or undefined when there is none.
   */
  async setState(id: string, state: SubscriptionState): Promise<Subscription | undefined> {
    // On the right of SET, `state` is the state before this update. Pausing a paused one keeps
    // its reason and time; resuming one starts the automatic pause's clock again.
    const result = await this.#db.query<Subscription>(
      `WITH s AS (
         UPDATE subscriptions SET
           state = $2::text,
           updated_at = now(),
           paused_at = CASE WHEN $2::text = 'active' THEN NULL
             WHEN state = 'paused' THEN paused_at ELSE now() END,
           paused_reason = CASE WHEN $2::text = 'paused' AND state = 'paused'
             THEN paused_reason END,
           resumed_at = CASE WHEN $2::text = 'active' AND state = 'paused'
             THEN now() ELSE resumed_at END
         WHERE id = $1 RETURNING *)
       SELECT ${SUBSCRIPTION_COLUMNS} FROM s`,
      [id, state],
    );
    return result.rows[0];
  }

  /**
   * Pauses every active subscription whose every attempt failed for `afterMs`: one failed at
   * least that long ago, none succeeded since (nor was it resumed since), and one failed within
   * that time (it is still being tried). The reason, with the latest error, is kept on it.
   * Returns the subscriptions it paused. One statement, a few index probes per active
   * subscription: `delivery_attempts_failed_idx` and `deliveries_delivered_idx`.
   */
  async pauseFailing(
    afterMs: number,
    reason: string,
  ): Promise<Array<{ id: string; name: string }>> {
    const failed =
      'a.subscription_id = s.id AND (a.http_status IS NULL OR a.http_status NOT BETWEEN 200 AND 299)';
    const result = await this.#db.query<{ id: string; name: string }>(
      `UPDATE subscriptions s SET
         state = 'paused', paused_at = now(), updated_at = now(),
         paused_reason = $2::text || coalesce(' (last error: ' || (
           SELECT coalesce(a.error, 'HTTP ' || a.http_status) FROM delivery_attempts a
           WHERE ${failed}
           ORDER BY a.attempted_at DESC, a.id DESC LIMIT 1) || ')', '')
       WHERE s.state = 'active'
         AND EXISTS (
           SELECT 1 FROM delivery_attempts a
           WHERE ${failed} AND a.attempted_at > now() - make_interval(secs => $1::float8 / 1000))
         AND EXISTS (
           SELECT 1 FROM delivery_attempts a
           WHERE ${failed}
             AND a.attempted_at <= now() - make_interval(secs => $1::float8 / 1000)
             AND a.attempted_at > greatest(s.resumed_at, (
               SELECT d.delivered_at FROM deliveries d
               WHERE d.subscription_id = s.id AND d.delivered_at IS NOT NULL
               ORDER BY d.delivered_at DESC LIMIT 1), '-infinity'))
       RETURNING s.id, s.name`,
      [afterMs, reason],
    );
    return result.rows;
  }

  /**
   * Where and how a test event is sent to the subscription: its URL, timeout and signing
   * secrets (as `signingSecrets`). Undefined when there is no such subscription.
   */
  async destination(
    id: string,
  ): Promise<{ url: string; timeoutMs: number; secrets: string[] } | undefined> {
    const result = await this.#db.query<{ url: string; timeoutMs: number; secrets: string[] }>(
      `SELECT s.url, s.timeout_ms AS "timeoutMs", ${signingSecretsSql('s')} AS secrets
       FROM subscriptions s WHERE s.id = $1`,
      [id],
    );
    return result.rows[0];
  }

  /**
   * Deletes the subscription with its deliveries, unless deliveries of it still wait while it
   * is active: those would be lost unseen. Pausing it first says they may go.
   */
  async delete(id: string): Promise<SubscriptionDeletion> {
    // One statement: `found` reads the snapshot from before the DELETE.
    const result = await this.#db.query<{ deleted: boolean; found: boolean }>(
      `WITH removed AS (
         DELETE FROM subscriptions s
         WHERE s.id = $1
           AND (s.state = 'paused' OR NOT EXISTS (
             SELECT 1 FROM deliveries d WHERE d.subscription_id = s.id AND d.status = 'pending'))
         RETURNING s.id)
       SELECT EXISTS (SELECT 1 FROM removed) AS deleted,
              EXISTS (SELECT 1 FROM subscriptions WHERE id = $1) AS found`,
      [id],
    );
    const row = result.rows[0];
    if (row?.deleted === true) return 'deleted';
    return row?.found === true ? 'active' : 'not_found';
  }

  /**
   * The secrets a delivery of this subscription is signed with: the current one first, then
   * the one rotated out while it has not expired. Undefined when there is no such subscription.
   */
  async signingSecrets(id: string): Promise<string[] | undefined> {
    const result = await this.#db.query<{ secrets: string[] }>(
      `SELECT ${signingSecretsSql('s')} AS secrets FROM subscriptions s WHERE s.id = $1`,
      [id],
    );
    return result.rows[0]?.secrets;
  }

  /** Runs a statement yielding at most one subscription; a taken `name` becomes its error. */
  async #one(
    text: string,
    values: readonly unknown[],
    name: string | undefined,
  ): Promise<Subscription | undefined> {
    try {
      return (await this.#db.query<Subscription>(text, values)).rows[0];
    } catch (err) {
      if (name !== undefined && isNameTaken(err)) throw new SubscriptionNameTakenError(name, err);
      throw err;
    }
  }
}

function isNameTaken(err: unknown): err is PermanentDatabaseError {
  if (!(err instanceof PermanentDatabaseError) || err.code !== '23505') return false;
  const { cause } = err;
  return (
    typeof cause === 'object' &&
    cause !== null &&
    'constraint' in cause &&
    cause.constraint === 'subscriptions_name_key'
  );
}
