import type { Logger } from 'pino';
import type { RemoveExpiredEventsResult } from './remove-expired-events.js';

export interface RetentionSchedulerOptions {
  /** One retention run; `signal` is aborted by `stop()`. */
  run: (signal: AbortSignal) => Promise<RemoveExpiredEventsResult>;
  /** Time from the end of one run to the start of the next, ms. */
  intervalMs: number;
  /** Time from `start()` to the first run, ms. */
  firstRunDelayMs: number;
  logger: Logger;
  /** What a run removes, for its log line. Default `event(s)`. */
  what?: string;
}

/**
 * Runs retention periodically in the consumer. A run is scheduled only once the previous one
 * has finished, so two never overlap however long one takes. A failed run (database away) is
 * logged and tried again at the next interval. `stop()` cancels the next run, asks the
 * current one to stop after its batch, and waits for it; it is idempotent.
 */
export class RetentionScheduler {
  readonly #options: RetentionSchedulerOptions;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: RetentionSchedulerOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#stopped || this.#timer !== undefined || this.#running !== undefined) return;
    this.#schedule(this.#options.firstRunDelayMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#running;
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#runOnce().finally(() => {
        this.#running = undefined;
        if (!this.#stopped) this.#schedule(this.#options.intervalMs);
      });
    }, delayMs);
    // A pending run must not keep the process alive by itself.
    this.#timer.unref();
  }

  async #runOnce(): Promise<void> {
    const { logger } = this.#options;
    const startedMs = performance.now();
    try {
      const result = await this.#options.run(this.#abort.signal);
      const { deleted, batches, createdBefore, interrupted, ...more } = result;
      logger.info(
        {
          deleted,
          batches,
          createdBefore: createdBefore?.toISOString(),
          interrupted,
          ...more,
          ms: Math.round(performance.now() - startedMs),
        },
        `retention: removed ${result.deleted} ${this.#options.what ?? 'event(s)'}`,
      );
    } catch (err) {
      logger.warn({ err }, 'retention run failed; trying again at the next interval');
    }
  }
}
