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
 * code (`ECONNRESET`) or message when no answer came, and whether it went out on a kept-alive
 * connection that had been idle (and for how many whole seconds).
 */
export function failureReason(outcome: {
  status?: number | undefined;
  error?: unknown;
  /** When the request went out on a kept-alive connection: how long it had been idle, ms. */
  reusedIdleMs?: number | undefined;
}): string {
  if (outcome.error !== undefined) {
    const error = outcome.error as { code?: unknown; message?: unknown };
    const what =
      typeof error.code === 'string'
        ? error.code
        : typeof error.message === 'string'
          ? error.message
          : String(outcome.error);
    const idle = outcome.reusedIdleMs;
    // Whole seconds: a reuse at the server's keep-alive timeout stands out from one at once.
    return idle === undefined
      ? `error ${what}`
      : `error ${what} on a reused connection idle ${Math.floor(idle / 1000)}–${Math.floor(idle / 1000) + 1} s`;
  }
  return `status ${outcome.status ?? 'none'}`;
}
