import { setMaxListeners } from 'node:events';
import type { AttemptRecord, ClaimedDelivery, DeliveriesRepository } from '@webhooks/db';
import type { Logger } from 'pino';
import type { DeliveryMetrics } from './delivery-metrics.js';
import { afterAttempt } from './retry-schedule.js';

/** What one attempt came to, as the sender reports it. */
export interface AttemptResult {
  delivered: boolean;
  httpStatus?: number | undefined;
  error?: string | undefined;
  durationMs: number;
  responseBody?: string | undefined;
}

export interface DeliveryWorkerOptions {
  deliveries: Pick<DeliveriesRepository, 'claimDue' | 'recordAttempts' | 'release'>;
  /** Sends one attempt; never throws. `signal` aborts it when the worker stops. */
  send: (delivery: ClaimedDelivery, signal: AbortSignal) => Promise<AttemptResult>;
  /** How long an idle worker waits before looking for due deliveries again, ms. */
  pollMs: number;
  /** Most attempts this process has open at once, all subscriptions together. Default 1000. */
  maxConcurrent?: number;
  /** A lease lasts the subscription's timeout plus this, ms. Default 30 s. */
  leaseMarginMs?: number | undefined;
  /** How long `stop()` lets open attempts finish before cutting them short, ms. Default 5 s. */
  stopGraceMs?: number;
  metrics: DeliveryMetrics;
  logger: Logger;
}

/** Wait after a failed claim or record (the database away) before trying again. */
const DATABASE_RETRY_MS = 1000;

/**
 * Sends due deliveries: claims them from PostgreSQL (leased, within each subscription's
 * `maxInFlight` across processes), sends each as one signed HTTP attempt, and records the
 * attempts in batches. A slow destination only holds its own slots; nothing is held in memory
 * but the attempts open now. Several processes share the work; a process that dies leaves its
 * leases to expire, and those deliveries are sent again (at least once).
 */
export class DeliveryWorker {
  readonly #options: DeliveryWorkerOptions;
  readonly #maxConcurrent: number;
  readonly #open = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();
  /** Outcomes not yet recorded. */
  #outcomes: AttemptRecord[] = [];
  /** Leases to hand back: attempts cut short by `stop()`. */
  readonly #cutShort: string[] = [];
  #running = false;
  #loop: Promise<void> | undefined;
  #recording: Promise<void> | undefined;
  #recordQueued = false;
  /** Whoever sleeps now (the claim loop, a record waiting to retry), to wake early. */
  readonly #sleepers = new Set<() => void>();
  #woken = false;
  #stopped: Promise<void> | undefined;

  constructor(options: DeliveryWorkerOptions) {
    this.#options = options;
    this.#maxConcurrent = options.maxConcurrent ?? 1000;
    // Every open attempt listens on this one signal, and stops listening when its request
    // closes: up to `maxConcurrent` listeners, none left behind. Node's warning at 11 would be
    // a false alarm.
    setMaxListeners(0, this.#abort.signal);
  }

  /** Attempts open now. */
  get inFlight(): number {
    return this.#open.size;
  }

  start(): void {
    if (this.#running || this.#stopped !== undefined) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Looks for due deliveries now rather than at the next poll (e.g. some were just made). */
  wake(): void {
    this.#woken = true;
    for (const wakeUp of this.#sleepers) wakeUp();
  }

  /**
   * Claims nothing more, lets open attempts finish for up to `stopGraceMs`, cuts the rest short
   * (their deliveries are due again at once, for whichever process runs next), records every
   * outcome. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    this.#running = false;
    this.wake();
    await this.#loop;
    const grace = this.#options.stopGraceMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const finished = Promise.all(this.#open.values());
    await Promise.race([finished, new Promise((resolve) => (timer = setTimeout(resolve, grace)))]);
    clearTimeout(timer);
    this.#abort.abort();
    await finished;
    await this.#recording;
    await this.#record();
    await this.#options.deliveries.release(this.#cutShort).catch((err: unknown) => {
      this.#options.logger.warn(
        { err },
        'could not hand back cut-short deliveries; they come due when their lease ends',
      );
    });
  }

  async #run(): Promise<void> {
    const { deliveries, pollMs, leaseMarginMs = 30_000, logger } = this.#options;
    while (this.#running) {
      this.#woken = false;
      const room = this.#maxConcurrent - this.#open.size;
      let claimed: ClaimedDelivery[] = [];
      if (room > 0) {
        try {
          claimed = await deliveries.claimDue({ limit: room, leaseMarginMs });
        } catch (err) {
          logger.warn({ err }, 'could not claim due deliveries; trying again');
          await this.#sleep(DATABASE_RETRY_MS);
          continue;
        }
      }
      for (const delivery of claimed) this.#attempt(delivery);
      // Something claimed: more may be due at once. Nothing: wait for the poll, a wake-up from
      // storing, or freed slots (an outcome recorded).
      if (claimed.length === 0 && !this.#woken) await this.#sleep(pollMs);
    }
  }

  #attempt(delivery: ClaimedDelivery): void {
    const attemptedAt = new Date();
    const startedAt = performance.now();
    // A send that throws (a secret that cannot sign) is a failed attempt like any other.
    const done = Promise.resolve()
      .then(() => this.#options.send(delivery, this.#abort.signal))
      .catch(
        (err: unknown): AttemptResult => ({
          delivered: false,
          error: err instanceof Error ? err.message : String(err),
          durationMs: performance.now() - startedAt,
        }),
      )
      .then((result) => this.#settle(delivery, attemptedAt, result))
      .finally(() => this.#open.delete(delivery.id));
    this.#open.set(delivery.id, done);
  }

  #settle(delivery: ClaimedDelivery, attemptedAt: Date, result: AttemptResult): void {
    const { metrics } = this.#options;
    if (!result.delivered && this.#abort.signal.aborted) {
      this.#cutShort.push(delivery.id);
      return;
    }
    const nowMs = Date.now();
    const next = afterAttempt({
      attempt: delivery.attempt,
      delivered: result.delivered,
      retryDelaysMs: delivery.retryDelaysMs,
      nowMs,
    });
    this.#outcomes.push({
      deliveryId: delivery.id,
      attemptedAt,
      durationMs: Math.round(result.durationMs),
      httpStatus: result.httpStatus,
      error: result.error,
      responseBody: result.responseBody,
      status: next.status,
      nextAttemptAt: next.nextAttemptAt,
    });
    const subscription = delivery.subscriptionName;
    const outcome = next.status === 'pending' ? 'retry_scheduled' : next.status;
    metrics.deliveries.inc({ subscription, outcome });
    metrics.attemptDuration.observe(result.durationMs / 1000);
    if (result.delivered) {
      metrics.latency.observe({ subscription }, Math.max(0, nowMs - delivery.storedAtMs) / 1000);
    }
    this.#scheduleRecord();
  }

  /** Outcomes of one turn of the event loop are recorded together, one at a time. */
  #scheduleRecord(): void {
    if (this.#recordQueued) return;
    this.#recordQueued = true;
    setImmediate(() => {
      this.#recordQueued = false;
      if (this.#recording !== undefined) {
        // The running one picks these up when it ends.
        return;
      }
      this.#recording = this.#recordAll().finally(() => {
        this.#recording = undefined;
      });
    });
  }

  async #recordAll(): Promise<void> {
    while (this.#outcomes.length > 0) {
      const ok = await this.#record();
      // Freed slots: the loop may claim more now.
      this.wake();
      if (!ok) {
        if (!this.#running) return;
        await this.#sleep(DATABASE_RETRY_MS);
      }
    }
  }

  /** Records what is waiting; on failure keeps it for the next try. */
  async #record(): Promise<boolean> {
    const outcomes = this.#outcomes;
    if (outcomes.length === 0) return true;
    this.#outcomes = [];
    try {
      await this.#options.deliveries.recordAttempts(outcomes);
      return true;
    } catch (err) {
      this.#options.logger.warn(
        { err, outcomes: outcomes.length },
        'could not record delivery attempts; trying again',
      );
      this.#outcomes = [...outcomes, ...this.#outcomes];
      return false;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wakeUp = () => {
        clearTimeout(timer);
        this.#sleepers.delete(wakeUp);
        resolve();
      };
      const timer = setTimeout(wakeUp, ms);
      this.#sleepers.add(wakeUp);
    });
  }
}
