import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { AttemptRecord, ClaimedDelivery, DeliveriesRepository, Lease } from '@webhooks/db';
import type { Logger } from 'pino';
import type { DeliveryMetrics } from './delivery-metrics.js';
import { DestinationBackoff, type DestinationBackoffOptions } from './destination-backoff.js';
import { afterAttempt } from './retry-schedule.js';

/** What one attempt came to, as the sender reports it. */
export interface AttemptResult {
  delivered: boolean;
  httpStatus?: number | undefined;
  error?: string | undefined;
  durationMs: number;
  responseBody?: string | undefined;
  /** The answer's `Retry-After` header, if any. */
  retryAfter?: string | undefined;
}

export interface DeliveryWorkerOptions {
  deliveries: Pick<DeliveriesRepository, 'recordAndLease' | 'leased' | 'leasedBy' | 'release'>;
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
  /**
   * When to back off from a destination that fails every attempt (one probe at a time).
   * Default: after 10 failures in a row, probes 1 s apart, doubling up to 60 s.
   */
  backoff?: Partial<DestinationBackoffOptions> | undefined;
  metrics: DeliveryMetrics;
  logger: Logger;
}

/** Wait after a failed claim or record (the database away) before trying again. */
const DATABASE_RETRY_MS = 1000;
/**
 * Cycles one process runs at once. Two keep two PostgreSQL connections busy (one records and
 * claims while the other's leases are read), rather than leaving the sender waiting on one.
 */
const OPEN_CYCLES = 2;

const DEFAULT_BACKOFF: DestinationBackoffOptions = {
  afterFailures: 10,
  firstMs: 1000,
  maxMs: 60_000,
};

/**
 * Sends due deliveries: claims them from PostgreSQL (leased, within each subscription's
 * `maxInFlight` across processes), sends each as one signed HTTP attempt, and records the
 * outcomes with the next claim, so one round trip both frees the slots and fills them again.
 * A slow destination only holds its own slots, and one that fails every attempt gets a single
 * probe at a time (`DestinationBackoff`); nothing is held in memory but the attempts open now.
 * Several processes share the work; a process that dies leaves its leases to expire, and
 * those deliveries are sent again (at least once).
 */
export class DeliveryWorker {
  readonly #options: DeliveryWorkerOptions;
  readonly #maxConcurrent: number;
  readonly #backoff: DestinationBackoff;
  readonly #open = new Map<string, Promise<void>>();
  readonly #abort = new AbortController();
  /** Outcomes not yet recorded: the next cycle records them. */
  #outcomes: AttemptRecord[] = [];
  /** Leases taken whose deliveries could not be read yet (the database went): read next. */
  #unread: Lease[] = [];
  /** Cycles whose answer was lost: what they leased, if they committed, is read by token. */
  #lostCycles: string[] = [];
  /** Leases to hand back: attempts cut short by `stop()`. */
  readonly #cutShort: string[] = [];
  #running = false;
  #loop: Promise<void> | undefined;
  /** Whoever sleeps now (the cycle loop), to wake early. */
  readonly #sleepers = new Set<() => void>();
  /** Cycles running now, and the slots they may fill. */
  readonly #cycles = new Set<Promise<void>>();
  #reserved = 0;
  /** After a cycle that found nothing to do: none before this, unless woken (ms since epoch). */
  #idleUntilMs = 0;
  /** After the database failed: no cycle before this. */
  #retryAtMs = 0;
  #stopped: Promise<void> | undefined;

  constructor(options: DeliveryWorkerOptions) {
    this.#options = options;
    this.#maxConcurrent = options.maxConcurrent ?? 1000;
    this.#backoff = new DestinationBackoff({ ...DEFAULT_BACKOFF, ...options.backoff });
    // Every open attempt listens on this one signal, and stops listening when its request
    // closes: up to `maxConcurrent` listeners, none left behind. Node's warning at 11 would be
    // a false alarm.
    setMaxListeners(0, this.#abort.signal);
  }

  /** Attempts open now. */
  get inFlight(): number {
    return this.#open.size;
  }

  /** Subscriptions this process is backing off from now. */
  get backingOff(): number {
    return this.#backoff.size;
  }

  /** Whether this process is backing off from the subscription's destination now. */
  isBackingOff(subscriptionId: string): boolean {
    return this.#backoff.isBackedOff(subscriptionId);
  }

  start(): void {
    if (this.#running || this.#stopped !== undefined) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Looks for due deliveries now rather than at the next poll (e.g. some were just made). */
  wake(): void {
    this.#idleUntilMs = 0;
    this.#nudge();
  }

  /** Lets the cycle loop look again (a cycle or an attempt ended). */
  #nudge(): void {
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
    this.#nudge();
    await this.#loop;
    const grace = this.#options.stopGraceMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const finished = Promise.all(this.#open.values());
    await Promise.race([finished, new Promise((resolve) => (timer = setTimeout(resolve, grace)))]);
    clearTimeout(timer);
    this.#abort.abort();
    await finished;
    await this.#cycle(0);
    const handBack = [...this.#cutShort, ...this.#unread.map((lease) => lease.id)];
    await this.#options.deliveries.release(handBack).catch((err: unknown) => {
      this.#options.logger.warn(
        { err },
        'could not hand back cut-short deliveries; they come due when their lease ends',
      );
    });
  }

  /**
   * Records what ended and claims what fits, in cycles of one round trip (and one to read what
   * was leased), up to `OPEN_CYCLES` at once. After a cycle that found nothing to do the next
   * waits for the poll, a wake-up from storing, or an attempt ending.
   */
  async #run(): Promise<void> {
    const { pollMs } = this.#options;
    while (this.#running) {
      const nowMs = Date.now();
      const due =
        this.#outcomes.length > 0 ||
        this.#lostCycles.length > 0 ||
        (this.#room() > 0 && nowMs >= this.#idleUntilMs);
      if (this.#cycles.size < OPEN_CYCLES && nowMs >= this.#retryAtMs && due) {
        this.#startCycle();
        continue;
      }
      const untilMs = this.#retryAtMs > nowMs ? this.#retryAtMs : this.#idleUntilMs;
      await this.#sleep(Math.max(1, Math.min(pollMs, untilMs - nowMs)));
    }
    await Promise.all(this.#cycles);
  }

  /** Slots no attempt, cycle or unread lease holds. */
  #room(): number {
    return this.#maxConcurrent - this.#open.size - this.#reserved - this.#unread.length;
  }

  #startCycle(): void {
    const room = Math.max(0, this.#room());
    this.#reserved += room;
    const cycle: Promise<void> = this.#cycle(room)
      .then((busy) => {
        if (busy === undefined) this.#retryAtMs = Date.now() + DATABASE_RETRY_MS;
        else if (!busy) this.#idleUntilMs = Date.now() + this.#options.pollMs;
      })
      .finally(() => {
        this.#reserved -= room;
        this.#cycles.delete(cycle);
        this.#nudge();
      });
    this.#cycles.add(cycle);
  }

  /**
   * Records the waiting outcomes and claims up to `room` deliveries, starting their attempts.
   * Whether anything was recorded or claimed; undefined when the database failed (what was not
   * done waits for the next cycle).
   */
  async #cycle(room: number): Promise<boolean | undefined> {
    const { deliveries, leaseMarginMs = 30_000, logger } = this.#options;
    const lost = this.#lostCycles;
    this.#lostCycles = [];
    if (lost.length > 0) {
      // Leased by a cycle whose answer never came (it may have committed): sent now rather
      // than when the lease ends.
      try {
        for (const delivery of await deliveries.leasedBy(lost)) this.#attempt(delivery);
      } catch (err) {
        logger.warn({ err }, 'could not look for deliveries leased before the database went');
        this.#lostCycles.push(...lost);
        return undefined;
      }
    }
    const outcomes = this.#outcomes;
    this.#outcomes = [];
    const unread = this.#unread;
    this.#unread = [];
    const limit = Math.max(0, room - unread.length);
    if (outcomes.length === 0 && limit === 0 && unread.length === 0) return lost.length > 0;
    const leaseToken = randomUUID();
    let leases: Lease[];
    try {
      leases = await deliveries.recordAndLease(outcomes, {
        limit,
        leaseMarginMs,
        caps: this.#backoff.caps(Date.now()),
        leaseToken,
      });
    } catch (err) {
      logger.warn(
        { err, outcomes: outcomes.length },
        'could not record delivery attempts or claim due deliveries; trying again',
      );
      // Recording again is harmless (an attempt already logged is not logged twice).
      this.#outcomes = [...outcomes, ...this.#outcomes];
      this.#unread.push(...unread);
      if (limit > 0) this.#lostCycles.push(leaseToken);
      return undefined;
    }
    const toRead = [...unread, ...leases];
    if (toRead.length === 0) return outcomes.length > 0 || lost.length > 0;
    let claimed: ClaimedDelivery[];
    try {
      claimed = await deliveries.leased(toRead);
    } catch (err) {
      logger.warn(
        { err, leases: toRead.length },
        'could not read the deliveries just leased; trying again',
      );
      this.#unread.push(...toRead);
      return undefined;
    }
    for (const delivery of claimed) this.#attempt(delivery);
    return true;
  }

  #attempt(delivery: ClaimedDelivery): void {
    const attemptedAt = new Date();
    const startedAt = performance.now();
    const probe = this.#backoff.isBackedOff(delivery.subscriptionId);
    if (probe) this.#backoff.probeSent(delivery.subscriptionId);
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
      .then((result) => this.#settle(delivery, attemptedAt, result, probe))
      .finally(() => this.#open.delete(delivery.id));
    this.#open.set(delivery.id, done);
  }

  #settle(delivery: ClaimedDelivery, attemptedAt: Date, result: AttemptResult, probe: boolean) {
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
      httpStatus: result.httpStatus,
      retryAfter: result.retryAfter,
    });
    if (result.httpStatus === 429 && next.nextAttemptAt !== undefined) {
      // The destination asks for a pause: nothing to it from here before then.
      this.#backoff.held(delivery.subscriptionId, next.nextAttemptAt.getTime(), probe);
    } else {
      this.#backoff.settled(delivery.subscriptionId, result.delivered, probe, nowMs);
    }
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
    // The cycle loop records it (and fills the slot) at once.
    this.wake();
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
