import { classifyDatabaseError, DatabaseUnavailableError, type EventRow } from '@webhooks/db';
import type { Logger } from 'pino';

/** Inserts rows in one statement; resolves to what the insert tells of them. */
export type InsertBatch<R = unknown> = (rows: readonly EventRow[]) => Promise<R>;

/** The queue whose consumption stops while the database is away. */
export interface PausableQueue {
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export interface DatabaseCircuitOptions<R> {
  /** The insert this circuit guards. */
  insert: InsertBatch<R>;
  /** Resolves when the database is usable again. */
  probe: () => Promise<void>;
  probeIntervalMs: number;
  queue: PausableQueue;
  logger: Logger;
  /** Told `true` when the circuit opens and `false` when it closes (e.g. a gauge). */
  onStateChange?: (open: boolean) => void;
}

/**
 * Guards the insert against a database outage. When an insert finds the database unavailable,
 * the circuit opens: the queue is paused, the database is probed every `probeIntervalMs`, and
 * the insert waits; the first probe that succeeds closes the circuit, resumes the queue and
 * runs the insert again. Messages wait in RabbitMQ meanwhile, so an outage costs time, never a
 * dead letter. Every other failure is thrown at once, classified.
 */
export class DatabaseCircuit<R = unknown> {
  readonly #options: DatabaseCircuitOptions<R>;
  #open = false;
  #stopped = false;
  #waiters: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: DatabaseCircuitOptions<R>) {
    this.#options = options;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /**
   * Inserts `rows`, waiting out an outage. Throws the `DatabaseUnavailableError` only when the
   * circuit is stopped (shutdown) with the database still away: the caller gives the rows back.
   */
  readonly insert: InsertBatch<R> = async (rows) => {
    for (;;) {
      try {
        return await this.#options.insert(rows);
      } catch (err) {
        const error = classifyDatabaseError(err);
        if (!(error instanceof DatabaseUnavailableError) || this.#stopped) throw error;
        this.#openCircuit(error);
        await this.#whenClosed();
      }
    }
  };

  /** Stops probing and ends every wait (shutdown): waiting inserts then throw. Idempotent. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#release();
  }

  #openCircuit(cause: DatabaseUnavailableError): void {
    if (this.#open) return;
    this.#open = true;
    this.#options.onStateChange?.(true);
    this.#options.logger.warn(
      { err: cause },
      'database unavailable: circuit open, consumption paused',
    );
    this.#options.queue
      .pause()
      .catch((err: unknown) => this.#options.logger.error({ err }, 'pausing consumption failed'));
    this.#scheduleProbe();
  }

  #whenClosed(): Promise<void> {
    if (!this.#open || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #scheduleProbe(): void {
    this.#timer = setTimeout(() => void this.#probe(), this.#options.probeIntervalMs);
  }

  async #probe(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#options.probe();
    } catch (err) {
      this.#options.logger.debug({ err }, 'database probe failed');
      this.#scheduleProbe();
      return;
    }
    this.#open = false;
    this.#options.onStateChange?.(false);
    this.#options.logger.info('database reachable again: circuit closed, consumption resumed');
    await this.#options.queue
      .resume()
      .catch((err: unknown) => this.#options.logger.error({ err }, 'resuming consumption failed'));
    this.#release();
  }

  #release(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}
