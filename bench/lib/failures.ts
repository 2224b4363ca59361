/** Requests of an open-loop run that failed for the same reason (`status 503`, `error ECONNRESET`). */
export interface FailureGroup {
  reason: string;
  count: number;
  /** Scheduled seconds of the run of the first and the last of them. */
  firstSecond: number;
  lastSecond: number;
}

/** Each failure's reason and scheduled second, grouped by reason, most frequent first. */
export class FailureLog {
  readonly #groups = new Map<string, FailureGroup>();

  record(reason: string, second: number): void {
    const group = this.#groups.get(reason);
    if (group === undefined) {
      this.#groups.set(reason, { reason, count: 1, firstSecond: second, lastSecond: second });
      return;
    }
    group.count += 1;
    group.firstSecond = Math.min(group.firstSecond, second);
    group.lastSecond = Math.max(group.lastSecond, second);
  }

  groups(): FailureGroup[] {
    return [...this.#groups.values()]
      .map((group) => ({ ...group }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  }
}

/**
 * What a request's failure was: the status of an answer other than 200, or the error's
 * code (`ECONNRESET`) or message when no answer came.
 */
export function failureReason(outcome: { status?: number | undefined; error?: unknown }): string {
  if (outcome.error !== undefined) {
    const error = outcome.error as { code?: unknown; message?: unknown };
    if (typeof error.code === 'string') return `error ${error.code}`;
    if (typeof error.message === 'string') return `error ${error.message}`;
    return `error ${String(outcome.error)}`;
  }
  return `status ${outcome.status ?? 'none'}`;
}
