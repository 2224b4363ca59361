import type { Logger } from 'pino';
import type { IngestMetrics } from './metrics.js';

/** Shortest and longest `Retry-After` a shed request is given, seconds. */
export const RETRY_AFTER_BOUNDS_SECONDS = { min: 1, max: 300 } as const;

/**
 * Shedding stops once the backlog is below 90 % of the limit, not just below it: a backlog
 * hovering at the limit would otherwise flip the state (and log a line) every second.
 */
const RESUME_FRACTION = 0.9;

/** Weight of the newest drain-rate measurement in the moving average. */
const DRAIN_RATE_WEIGHT = 0.5;

export type AdmissionVerdict =
  | { admit: true }
  | { admit: false; backlog: number; limit: number; retryAfterSeconds: number };

/** What `/readyz` reports: `unknown` while the broker cannot be asked, `off` with `MAX_BACKLOG=0`. */
export type AdmissionState = 'open' | 'shedding' | 'unknown' | 'off';

/** Decides admission for every request from a backlog read in the background. */
export interface Admission {
  verdict(): AdmissionVerdict;
  /** One event confirmed by the broker: inflow, to tell the drain rate from the backlog's change. */
  noteAccepted(): void;
  readonly state: AdmissionState;
  readonly backlog: number | undefined;
}

/** `MAX_BACKLOG=0`: every request is admitted. */
export const alwaysAdmit: Admission = {
  verdict: () => ({ admit: true }),
  noteAccepted: () => {},
  state: 'off',
  backlog: undefined,
};

export interface BacklogAdmissionOptions {
  /** Messages ready in the main queue, `undefined` when unknown. Called at most once per interval. */
  readDepth: () => Promise<number | undefined>;
  /** `MAX_BACKLOG`, > 0. */
  maxBacklog: number;
  metrics: Pick<
    IngestMetrics,
    'backlogMessages' | 'backlogShedding' | 'backlogDrainRate' | 'admissionStateChanges'
  >;
  logger: Logger;
  /** Time between reads, ms. Default 1000. */
  intervalMs?: number;
  /** Clock, ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * Seconds until the backlog should be back under the resume mark at the measured drain rate,
 * within `RETRY_AFTER_BOUNDS_SECONDS`. Nothing draining (consumer or database away) gives the
 * longest wait: no shorter one would be honest.
 */
export function retryAfterSeconds(options: {
  backlog: number;
  resumeBelow: number;
  drainPerSecond: number | undefined;
}): number {
  const { min, max } = RETRY_AFTER_BOUNDS_SECONDS;
  const excess = options.backlog - options.resumeBelow + 1;
  const rate = options.drainPerSecond;
  if (rate === undefined || rate <= 0) return max;
  return Math.min(max, Math.max(min, Math.ceil(excess / rate)));
}

/**
 * Reads the main queue's depth once per interval (never per request) and sheds new webhooks
 * with 503 while it is at or past `MAX_BACKLOG`, until it falls below 90 % of it. The drain
 * rate is measured between reads as (previous depth + events this process published − depth)
 * per second, averaged; other replicas' publishes are not seen, which only makes the estimate
 * lower and the `Retry-After` longer. An unknown depth (broker unreachable) sheds nothing:
 * publishing then fails by itself with `queue_unavailable`.
 */
export class BacklogAdmission implements Admission {
  readonly #options: Required<Omit<BacklogAdmissionOptions, 'now'>> & { now: () => number };
  readonly #resumeBelow: number;
  #state: AdmissionState = 'unknown';
  #backlog: number | undefined;
  #sampledAtMs: number | undefined;
  /** Events this process published, in all; read before each depth read. */
  #acceptedTotal = 0;
  #acceptedAtLastRead = 0;
  #drainPerSecond: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: BacklogAdmissionOptions) {
    this.#options = { intervalMs: 1000, now: Date.now, ...options };
    this.#resumeBelow = Math.ceil(options.maxBacklog * RESUME_FRACTION);
  }

  get state(): AdmissionState {
    return this.#state;
  }

  get backlog(): number | undefined {
    return this.#backlog;
  }

  /** Measured drain rate, messages per second (moving average, never negative). */
  get drainPerSecond(): number | undefined {
    return this.#drainPerSecond === undefined ? undefined : Math.max(0, this.#drainPerSecond);
  }

  verdict(): AdmissionVerdict {
    if (this.#state !== 'shedding' || this.#backlog === undefined) return { admit: true };
    return {
      admit: false,
      backlog: this.#backlog,
      limit: this.#options.maxBacklog,
      retryAfterSeconds: retryAfterSeconds({
        backlog: this.#backlog,
        resumeBelow: this.#resumeBelow,
        drainPerSecond: this.drainPerSecond,
      }),
    };
  }

  noteAccepted(): void {
    this.#acceptedTotal += 1;
  }

  /** Reads periodically until `stop()`; the timer never keeps the process alive. */
  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const tick = async () => {
      await this.read();
      if (this.#stopped) return;
      this.#timer = setTimeout(tick, this.#options.intervalMs);
      this.#timer.unref();
    };
    this.#timer = setTimeout(tick, 0);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** One read of the depth and the state change it implies. */
  async read(): Promise<void> {
    const { metrics, maxBacklog, intervalMs } = this.#options;
    // Counted before asking: each event counted here is already in the depth read (its confirm
    // came after it was queued). One confirmed during the read counts in the next interval.
    const acceptedTotal = this.#acceptedTotal;
    const depth = await withTimeout(this.#options.readDepth(), 3 * intervalMs).catch(
      () => undefined,
    );
    const nowMs = this.#options.now();
    if (depth === undefined) {
      this.#backlog = undefined;
      this.#sampledAtMs = undefined;
      this.#drainPerSecond = undefined;
      this.#setState('unknown');
      return;
    }

    const previous = this.#backlog;
    const elapsedSeconds = this.#sampledAtMs === undefined ? 0 : (nowMs - this.#sampledAtMs) / 1000;
    if (previous !== undefined && elapsedSeconds > 0) {
      // Not clamped per interval: an event confirmed during a read makes one interval's figure
      // too high and the next one's too low by the same amount, which the average cancels.
      const rate = (previous + (acceptedTotal - this.#acceptedAtLastRead) - depth) / elapsedSeconds;
      this.#drainPerSecond =
        this.#drainPerSecond === undefined
          ? rate
          : DRAIN_RATE_WEIGHT * rate + (1 - DRAIN_RATE_WEIGHT) * this.#drainPerSecond;
      metrics.backlogDrainRate.set(Math.max(0, this.#drainPerSecond));
    }
    this.#acceptedAtLastRead = acceptedTotal;
    this.#backlog = depth;
    this.#sampledAtMs = nowMs;
    metrics.backlogMessages.set(depth);

    if (depth >= maxBacklog) this.#setState('shedding');
    else if (this.#state !== 'shedding' || depth < this.#resumeBelow) this.#setState('open');
  }

  #setState(next: AdmissionState): void {
    const previous = this.#state;
    if (previous === next) return;
    this.#state = next;
    const { metrics, logger, maxBacklog } = this.#options;
    metrics.backlogShedding.set(next === 'shedding' ? 1 : 0);
    metrics.admissionStateChanges.inc({ to: next });
    const context = {
      backlog: this.#backlog,
      maxBacklog,
      resumeBelow: this.#resumeBelow,
      drainPerSecond: this.drainPerSecond,
    };
    if (next === 'shedding') {
      logger.warn(context, 'backlog at MAX_BACKLOG: new webhooks are refused with 503');
    } else if (next === 'open') {
      // The first successful read is no news unless it ends shedding or an unknown spell.
      if (previous === 'shedding')
        logger.info(context, 'backlog drained: accepting webhooks again');
      else logger.info(context, 'backlog known: admission control active');
    } else {
      logger.warn(context, 'backlog unknown (broker not answering): not shedding on it');
    }
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
