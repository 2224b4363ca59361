import type { Database } from '@webhooks/db';
import type { QueueAdmin, Topology } from '@webhooks/queue';
import { expect } from 'vitest';

/** What the API answered for one event id; `error` when no HTTP answer came at all. */
export type Answer = number | 'error';

export interface Reconciliation {
  /** Answered 200 and found nowhere: the promise broken. Must be empty. */
  lost: string[];
  /**
   * Stored more than once, or both stored and dead-lettered, whatever the answer: an event
   * refused with a 503 whose message still reached the broker is deduplicated too. Must be empty.
   */
  duplicated: string[];
  /** Answered 200 and dead-lettered, with the reason. */
  deadLettered: Map<string, string>;
  /** Not answered 200 yet stored or dead-lettered, with the answer given. */
  storedWithout200: Map<string, Answer>;
  /** Stored under the source with an id no request sent. Must be empty. */
  unknown: string[];
  accepted: number;
  stored: number;
}

/** What was found: rows per stored event id (of the source), and the dead letters' reasons. */
export interface Findings {
  storedCounts: ReadonlyMap<string, number>;
  deadLetterReasons: ReadonlyMap<string, string>;
}

/** Holds every answer against what was found. Pure: the reconciler's rules in one place. */
export function classify(answers: ReadonlyMap<string, Answer>, found: Findings): Reconciliation {
  const result: Reconciliation = {
    lost: [],
    duplicated: [],
    deadLettered: new Map(),
    storedWithout200: new Map(),
    unknown: [...found.storedCounts.keys()].filter((id) => !answers.has(id)),
    accepted: 0,
    stored: 0,
  };
  for (const [id, answer] of answers) {
    const stored = found.storedCounts.get(id) ?? 0;
    const deadReason = found.deadLetterReasons.get(id);
    result.stored += stored > 0 ? 1 : 0;
    if (stored > 1 || (stored === 1 && deadReason !== undefined)) result.duplicated.push(id);
    if (answer !== 200) {
      if (stored > 0 || deadReason !== undefined) result.storedWithout200.set(id, answer);
      continue;
    }
    result.accepted += 1;
    if (stored === 0 && deadReason === undefined) result.lost.push(id);
    else if (stored === 0 && deadReason !== undefined) result.deadLettered.set(id, deadReason);
  }
  return result;
}

/**
 * Sends events with known ids and keeps every answer, then reconciles them against the
 * `webhook_events` table and the dead-letter queue: each id answered 200 must be stored exactly
 * once or dead-lettered with a reason; each id not answered 200 should be in neither. The
 * exception (a confirm lost to a fault after the broker took the message) is reported by id
 * and answer, never hidden.
 */
export class Reconciler {
  readonly answers = new Map<string, Answer>();
  readonly #source: string;

  constructor(source: string) {
    this.#source = source;
  }

  /** Sends `count` events through `post`, `concurrency` at a time, ids `<prefix>-<n>`. */
  async send(options: {
    prefix: string;
    count: number;
    concurrency: number;
    post: (body: Record<string, unknown>) => Promise<number>;
  }): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < options.count) {
        const id = `${options.prefix}-${next++}`;
        const body = { source: this.#source, type: 'reconcile', id, data: { id } };
        try {
          this.answers.set(id, await options.post(body));
        } catch {
          this.answers.set(id, 'error');
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  }

  acceptedIds(): string[] {
    return [...this.answers].filter(([, answer]) => answer === 200).map(([id]) => id);
  }

  /**
   * Waits until every id answered 200 is accounted for (stored or dead-lettered) and the main
   * and retry queues are empty, or `timeoutMs` passes; then reports.
   */
  async reconcile(options: {
    db: Database;
    admin: QueueAdmin;
    topology: Topology;
    timeoutMs: number;
  }): Promise<Reconciliation> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      const result = await this.#snapshot(options);
      const queues = [options.topology.queue, ...options.topology.retryQueues.map((q) => q.name)];
      const depths = await Promise.all(queues.map((q) => options.admin.count(q)));
      const settled = result.lost.length === 0 && depths.every((d) => d === 0);
      if (settled || Date.now() > deadline) return result;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /**
   * Reconciles (waiting up to `timeoutMs`, default 30 s) and asserts the promise: every event
   * answered 200 stored exactly once, none lost, none duplicated (whatever its answer), none
   * dead-lettered, no row of the source that no request sent. Returns the reconciliation for
   * the test's own further checks.
   */
  async expectEveryAcceptedStoredOnce(options: {
    db: Database;
    admin: QueueAdmin;
    topology: Topology;
    timeoutMs?: number;
    /** When given, a one-line summary is printed under it, before the assertions. */
    label?: string;
  }): Promise<Reconciliation> {
    const result = await this.reconcile({ timeoutMs: 30_000, ...options });
    if (options.label !== undefined) console.error(summary(options.label, result));
    expect(result.lost).toEqual([]);
    expect(result.duplicated).toEqual([]);
    expect([...result.deadLettered]).toEqual([]);
    expect(result.unknown).toEqual([]);
    return result;
  }

  async #snapshot(options: {
    db: Database;
    admin: QueueAdmin;
    topology: Topology;
  }): Promise<Reconciliation> {
    const rows = await options.db.query<{ event_id: string; n: number }>(
      'SELECT event_id, count(*)::int AS n FROM webhook_events WHERE source = $1 GROUP BY event_id',
      [this.#source],
    );
    const storedCounts = new Map(rows.rows.map((r) => [r.event_id, r.n]));
    const deadLetterReasons = new Map<string, string>();
    for (const message of await options.admin.peek(options.topology.deadLetterQueue, 1_000_000)) {
      const id = message.properties.messageId;
      const reason = String(message.headers['x-death-reason']);
      if (typeof id === 'string') deadLetterReasons.set(id, reason);
    }
    return classify(this.answers, { storedCounts, deadLetterReasons });
  }
}

function summary(label: string, r: Reconciliation): string {
  const without200 = [...r.storedWithout200].map(([id, answer]) => `${id}=${answer}`).join(', ');
  return (
    `${label}: ${r.accepted} accepted, ${r.stored} stored, lost ${r.lost.length}, ` +
    `duplicated ${r.duplicated.length}, unknown ${r.unknown.length}, ` +
    `stored without a 200 ${r.storedWithout200.size} (${without200})`
  );
}
