import type { Logger } from 'pino';

export interface DatabaseCircuitOptions {
  /** Resolves when the database is usable again. */
  probe: () => Promise<void>;
  probeIntervalMs: number;
  logger: Logger;
  /** Called once each time the circuit opens (e.g. stop taking messages). */
  onOpen: () => Promise<void> | void;
  /** Called once each time it closes again (e.g. resume). */
  onClose: () => Promise<void> | void;
}

/**
 * Open while the database is unavailable. Opening starts a probe every `probeIntervalMs`;
 * the first probe that succeeds closes the circuit. Messages wait in RabbitMQ meanwhile, so an
 * outage costs time, never a dead letter.
 */
export class DatabaseCircuit {
  readonly #options: DatabaseCircuitOptions;
  #open = false;
  #stopped = false;
  #waiters: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: DatabaseCircuitOptions) {
    this.#options = options;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** True once `stop()` was called: nothing waits for the database any more. */
  get isStopped(): boolean {
    return this.#stopped;
  }

  open(cause: Error): void {
    if (this.#open || this.#stopped) return;
    this.#open = true;
    this.#options.logger.warn(
      { err: cause },
      'database unavailable: circuit open, consumption paused',
    );
    void Promise.resolve(this.#options.onOpen()).catch((err: unknown) =>
      this.#options.logger.error({ err }, 'pausing consumption failed'),
    );
    this.#scheduleProbe();
  }

  /** Resolves when the circuit is closed, or when `stop()` is called. */
  whenClosed(): Promise<void> {
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
    this.#options.logger.info('database reachable again: circuit closed, consumption resumed');
    await Promise.resolve(this.#options.onClose()).catch((err: unknown) =>
      this.#options.logger.error({ err }, 'resuming consumption failed'),
    );
    this.#release();
  }

  #release(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  /** Stops probing and releases waiters (shutdown). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#release();
  }
}
