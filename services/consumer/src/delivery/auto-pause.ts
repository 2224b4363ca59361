import type { SubscriptionsRepository } from '@webhooks/db';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';

/** The check's usual period; a shorter window is checked every quarter of it. */
const CHECK_INTERVAL_MS = 60_000;
/** The shortest period, whatever the window. */
const MIN_CHECK_INTERVAL_MS = 100;

export interface AutoPauseOptions {
  subscriptions: Pick<SubscriptionsRepository, 'pauseFailing'>;
  /** A subscription whose every attempt failed for this long is paused, ms; 0: never. */
  afterMs: number;
  /** `subscriptions_auto_paused_total{subscription}`. */
  paused: Counter<'subscription'>;
  logger: Logger;
}

/** `86400000` as "24 h", `90000` as "90 s": the window in the reason an operator reads. */
export function durationText(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/**
 * Pauses, now and then, the subscriptions whose every attempt failed for `afterMs`: a dead
 * destination stops being tried (its deliveries wait in the table) until an operator resumes
 * it. Each check is one statement (`pauseFailing`); several processes may run it, a
 * subscription is paused (and counted) once. A failed check (the database away) is logged and
 * made again at the next period. `stop()` is idempotent and waits for a check under way.
 */
export class AutoPause {
  readonly #options: AutoPauseOptions;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: AutoPauseOptions) {
    this.#options = options;
    this.#intervalMs = Math.max(
      MIN_CHECK_INTERVAL_MS,
      Math.min(CHECK_INTERVAL_MS, Math.floor(options.afterMs / 4)),
    );
  }

  start(): void {
    if (this.#options.afterMs === 0 || this.#stopped || this.#timer !== undefined) return;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One check now: pauses what has failed long enough and returns their names. */
  async check(): Promise<string[]> {
    const { afterMs, subscriptions, paused, logger } = this.#options;
    const reason = `every attempt failed for ${durationText(afterMs)}`;
    const names: string[] = [];
    for (const subscription of await subscriptions.pauseFailing(afterMs, reason)) {
      paused.inc({ subscription: subscription.name });
      logger.warn(
        { subscriptionId: subscription.id, subscription: subscription.name, reason },
        'subscription paused: every attempt failed; resume it once the destination is fixed',
      );
      names.push(subscription.name);
    }
    return names;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.check()
        .then(
          () => undefined,
          (err: unknown) => this.#options.logger.error({ err }, 'automatic pause check failed'),
        )
        .finally(() => {
          this.#running = undefined;
          if (!this.#stopped) this.#schedule();
        });
    }, this.#intervalMs);
    // A pending check must not keep the process alive by itself.
    this.#timer.unref();
  }
}
