import type { DeathReason } from '@webhooks/contracts';
import type { Database } from './database.js';
import { KeysetPages, type Page, type PageRequest } from './keyset-page.js';
import { SqlConditions } from './sql-conditions.js';
import { utcText } from './utc-text.js';

/** One dead-lettering, as the consumer records it once the dead-letter copy is confirmed. */
export interface DeadLetterRecord {
  /** Identifies the message across dead-letterings (see `dead_letters.message_key`). */
  messageKey: string;
  eventId: string | undefined;
  source: string | undefined;
  type: string | undefined;
  reason: DeathReason;
  lastError: string;
  attempts: number;
  /** RFC 3339. */
  firstFailedAt: string;
  /** RFC 3339. */
  deadLetteredAt: string;
  body: Buffer;
  requestId: string | undefined;
}

/**
 * `dead`: waiting in the dead-letter queue. `replayed`: moved back to the main queue since it
 * was last dead-lettered, not stored yet. `stored`: its event is stored (its key is in
 * `webhook_event_keys`, which keeps the keys of every event retention has not removed).
 */
export type DeadLetterStatus = 'dead' | 'replayed' | 'stored';

/** A dead letter as the ops API shows it. Times are RFC 3339 UTC with microseconds. */
export interface DeadLetterSummary {
  id: string;
  eventId: string | null;
  source: string | null;
  type: string | null;
  reason: string;
  lastError: string;
  attempts: number;
  firstFailedAt: string;
  deadLetteredAt: string;
  requestId: string | null;
  deadLetterCount: number;
  replayCount: number;
  replayedAt: string | null;
  status: DeadLetterStatus;
}

export interface DeadLetter extends DeadLetterSummary {
  /** The body as UTF-8 text (invalid sequences shown as U+FFFD). */
  body: string;
  bodyBytes: number;
}

export interface DeadLetterFilter {
  source?: string | undefined;
  type?: string | undefined;
  reason?: string | undefined;
  eventId?: string | undefined;
  /** Dead-lettered at or after (RFC 3339). */
  from?: string | undefined;
  /** Dead-lettered before (RFC 3339). */
  to?: string | undefined;
}

/** What a replay selects: these rows, or every row matching a filter. */
export type DeadLetterSelection = { ids: readonly string[] } | { filter: DeadLetterFilter };

/** Whether the dead letter's event is stored: one probe of the events' dedup keys. */
const EVENT_STORED = `
  d.event_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM webhook_event_keys k WHERE k.source = d.source AND k.event_id = d.event_id)`;

/** Moved back to the main queue since it was last dead-lettered. */
const REPLAYED = 'd.replayed_at IS NOT NULL AND d.replayed_at >= d.dead_lettered_at';

/** Derived, never stored: whether the event got stored is a fact of the events' keys. */
const STATUS = `
  CASE
    WHEN ${EVENT_STORED} THEN 'stored'
    WHEN ${REPLAYED} THEN 'replayed'
    ELSE 'dead'
  END`;

/** The select list of a `DeadLetterSummary`. */
const SUMMARY_COLUMNS = `
  d.id, d.event_id AS "eventId", d.source, d.type, d.reason, d.last_error AS "lastError",
  d.attempts,
  ${utcText('d.first_failed_at')} AS "firstFailedAt",
  ${utcText('d.dead_lettered_at')} AS "deadLetteredAt",
  d.request_id AS "requestId", d.dead_letter_count AS "deadLetterCount",
  d.replay_count AS "replayCount",
  ${utcText('d.replayed_at')} AS "replayedAt",
  ${STATUS} AS status`;

const SUMMARY_PAGES = new KeysetPages<DeadLetterSummary>({
  from: 'dead_letters d',
  columns: SUMMARY_COLUMNS,
  time: ['d.dead_lettered_at', 'deadLetteredAt'],
});

/** The filter's conditions on `d`. */
function filterConditions(filter: DeadLetterFilter): SqlConditions {
  const { source, type, reason, eventId } = filter;
  return new SqlConditions()
    .equal({ 'd.source': source, 'd.type': type, 'd.reason': reason, 'd.event_id': eventId })
    .between('d.dead_lettered_at', filter);
}

/**
 * A second dead-lettering of the same message updates its row: the latest reason, error and
 * attempts, the earliest first failure, and one more in `dead_letter_count`.
 */
const RECORD = `
  INSERT INTO dead_letters (message_key, event_id, source, type, reason, last_error, attempts,
    first_failed_at, dead_lettered_at, body, request_id)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
  ON CONFLICT (message_key) DO UPDATE SET
    event_id = EXCLUDED.event_id,
    source = EXCLUDED.source,
    type = EXCLUDED.type,
    reason = EXCLUDED.reason,
    last_error = EXCLUDED.last_error,
    attempts = EXCLUDED.attempts,
    first_failed_at = LEAST(dead_letters.first_failed_at, EXCLUDED.first_failed_at),
    dead_lettered_at = GREATEST(dead_letters.dead_lettered_at, EXCLUDED.dead_lettered_at),
    body = EXCLUDED.body,
    request_id = COALESCE(EXCLUDED.request_id, dead_letters.request_id),
    dead_letter_count = dead_letters.dead_letter_count + 1
  RETURNING id`;

/** `dead_letters`: recorded by the consumer, searched by the ops API, marked by replays. */
export class DeadLettersRepository {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Records one dead-lettering and returns the row's id. Throws a classified `DatabaseError`. */
  async record(letter: DeadLetterRecord): Promise<string> {
    const result = await this.#db.query<{ id: string }>(RECORD, [
      letter.messageKey,
      letter.eventId ?? null,
      letter.source ?? null,
      letter.type ?? null,
      letter.reason,
      letter.lastError,
      letter.attempts,
      letter.firstFailedAt,
      letter.deadLetteredAt,
      letter.body,
      letter.requestId ?? null,
    ]);
    const row = result.rows[0];
    if (row === undefined) throw new Error('dead letter insert returned no row');
    return row.id;
  }

  /** Newest first, keyset-paginated like the events: pass the previous page's `next`. */
  find(filter: DeadLetterFilter & PageRequest): Promise<Page<DeadLetterSummary>> {
    return SUMMARY_PAGES.newestFirst(this.#db, filterConditions(filter), filter);
  }

  /** The row with this uuid, body included, or undefined. */
  async findById(id: string): Promise<DeadLetter | undefined> {
    const result = await this.#db.query<DeadLetterSummary & { body: Buffer }>(
      `SELECT ${SUMMARY_COLUMNS}, d.body FROM dead_letters d WHERE d.id = $1`,
      [id],
    );
    const row = result.rows[0];
    if (row === undefined) return undefined;
    return { ...row, body: row.body.toString('utf8'), bodyBytes: row.body.length };
  }

  /**
   * The message keys of the selected rows that wait in the dead-letter queue (status `dead`),
   * at most `limit`, oldest first: what a replay of this selection moves.
   */
  async findReplayable(selection: DeadLetterSelection, limit: number): Promise<string[]> {
    const byIds = 'ids' in selection;
    const where = filterConditions(byIds ? {} : selection.filter)
      .optional(byIds ? selection.ids : undefined, 'uuid[]', (ids) => `d.id = ANY (${ids})`)
      .add(`${STATUS} = 'dead'`);
    const limitParameter = where.parameter(limit, 'int');
    const result = await this.#db.query<{ message_key: string }>(
      `SELECT d.message_key
       FROM dead_letters d
       WHERE ${where.sql}
       ORDER BY d.dead_lettered_at, d.id
       LIMIT ${limitParameter}`,
      where.values,
    );
    return result.rows.map((r) => r.message_key);
  }

  /** Marks these messages as moved back to the main queue at `at`. Returns rows marked. */
  async markReplayed(messageKeys: readonly string[], at: Date): Promise<number> {
    if (messageKeys.length === 0) return 0;
    const result = await this.#db.query(
      `UPDATE dead_letters
       SET replayed_at = $2, replay_count = replay_count + 1
       WHERE message_key = ANY ($1::text[])`,
      [messageKeys, at],
    );
    return result.rowCount ?? 0;
  }

  /** Dead letters recorded since `since`, counted by source and reason. */
  async countSince(
    since: Date,
  ): Promise<Array<{ source: string | null; reason: string; count: number }>> {
    const result = await this.#db.query<{ source: string | null; reason: string; count: number }>(
      `SELECT source, reason, count(*)::int AS count
       FROM dead_letters
       WHERE dead_lettered_at >= $1
       GROUP BY source, reason
       ORDER BY count DESC, source, reason
       LIMIT 1000`,
      [since],
    );
    return result.rows;
  }

  /**
   * When the oldest dead letter still waiting in the queue was dead-lettered, if any: the
   * first not replayed in `dead_letters_waiting_idx`, oldest first, whose event is not stored
   * (the console asks every few seconds).
   */
  async oldestWaiting(): Promise<string | undefined> {
    const result = await this.#db.query<{ at: string }>(
      `SELECT ${utcText('d.dead_lettered_at')} AS at
       FROM dead_letters d
       WHERE (d.replayed_at IS NULL OR d.replayed_at < d.dead_lettered_at)
         AND NOT (${EVENT_STORED})
       ORDER BY d.dead_lettered_at
       LIMIT 1`,
    );
    return result.rows[0]?.at;
  }

  /**
   * Removes up to `limit` of the oldest dead letters dead-lettered before `before` that are
   * resolved: replayed since they were last dead-lettered, and their event stored. One still
   * waiting in the dead-letter queue (never replayed, or dead-lettered again) is never
   * removed, whatever its age. Returns how many it removed.
   */
  async deleteResolvedBefore(before: Date, limit: number): Promise<number> {
    const result = await this.#db.query(
      `DELETE FROM dead_letters WHERE id = ANY (ARRAY(
         SELECT d.id FROM dead_letters d
         WHERE d.dead_lettered_at < $1 AND ${REPLAYED} AND ${EVENT_STORED}
         ORDER BY d.dead_lettered_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED))`,
      [before, limit],
    );
    return result.rowCount ?? 0;
  }
}
