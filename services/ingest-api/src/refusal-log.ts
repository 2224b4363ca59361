import type { FastifyBaseLogger } from 'fastify';

/** One refused signature, as logged. */
export interface Refusal {
  source: string;
  scheme: string;
  /** Why the verifier refused it (e.g. `signature_mismatch`). */
  reason: string;
}

export interface RefusalLogOptions {
  logger: FastifyBaseLogger;
  /** At most one line per source per interval. */
  intervalMs: number;
}

interface SourceWindow {
  /** Refusals since the last line. */
  unlogged: number;
  last: Refusal;
  timer: NodeJS.Timeout;
}

/**
 * Logs refused signatures at `warn`, at most one line per source per interval, each with how
 * many were refused since the previous line (`refused`): a sender with a wrong secret, or an
 * attacker, cannot flood the log, and no refusal goes uncounted. The first refusal of a quiet
 * source is logged at once; the others of the interval in one line at its end.
 */
export class RefusalLog {
  readonly #options: RefusalLogOptions;
  readonly #windows = new Map<string, SourceWindow>();

  constructor(options: RefusalLogOptions) {
    this.#options = options;
  }

  refused(refusal: Refusal): void {
    const window = this.#windows.get(refusal.source);
    if (window !== undefined) {
      window.unlogged += 1;
      window.last = refusal;
      return;
    }
    this.#write(refusal, 1);
    this.#open(refusal);
  }

  /** Logs what is still uncounted and stops the timers. Idempotent. */
  close(): void {
    for (const window of this.#windows.values()) {
      clearTimeout(window.timer);
      if (window.unlogged > 0) this.#write(window.last, window.unlogged);
    }
    this.#windows.clear();
  }

  #open(refusal: Refusal): void {
    const timer = setTimeout(() => this.#endWindow(refusal.source), this.#options.intervalMs);
    // Pending counts are flushed by `close()`; the timer alone keeps no process alive.
    timer.unref();
    this.#windows.set(refusal.source, { unlogged: 0, last: refusal, timer });
  }

  #endWindow(source: string): void {
    const window = this.#windows.get(source);
    this.#windows.delete(source);
    if (window === undefined || window.unlogged === 0) return;
    this.#write(window.last, window.unlogged);
    // A source still being refused keeps its limit: the next line comes an interval later.
    this.#open(window.last);
  }

  #write(refusal: Refusal, refused: number): void {
    this.#options.logger.warn({ ...refusal, refused }, 'webhook signature refused');
  }
}
