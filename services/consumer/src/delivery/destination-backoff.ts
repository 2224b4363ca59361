export interface DestinationBackoffOptions {
  /** Failed attempts in a row, with none delivered between, before backing off. */
  afterFailures: number;
  /** The first wait between probes, ms; it doubles with every failed probe. */
  firstMs: number;
  /** The longest wait between probes, ms. */
  maxMs: number;
}

interface Failing {
  /** Failed attempts in a row. */
  failures: number;
  /** Probes that failed since the back-off began. */
  failedProbes: number;
  /** No probe before this (ms since the epoch). */
  probeAtMs: number;
  /** A probe is out now. */
  probing: boolean;
}

/**
 * One sender's view of which destinations keep failing. After `afterFailures` failed attempts
 * to a subscription in a row, it stops sending it everything that comes due and sends a single
 * probe at a time instead, first after `firstMs`, then twice as long after each failed probe
 * (at most `maxMs`); the first delivered attempt ends the back-off. The deliveries that wait
 * meanwhile stay pending in the database, due, and keep their retries: a destination that is
 * down costs a probe now and then rather than an attempt for every delivery that comes due,
 * and its failures stop taking the sender's time from the destinations that answer.
 */
export class DestinationBackoff {
  readonly #options: DestinationBackoffOptions;
  readonly #failing = new Map<string, Failing>();
  /** No attempt before this, by subscription (ms since the epoch). */
  readonly #holds = new Map<string, number>();

  constructor(options: DestinationBackoffOptions) {
    this.#options = options;
  }

  /** Subscriptions backed off from now. */
  get size(): number {
    return [...this.#failing.values()].filter((f) => f.failures >= this.#options.afterFailures)
      .length;
  }

  /**
   * The sender's caps for its next claim, by subscription id: 0 (wait) or 1 (a probe is due).
   * A subscription not listed is not backed off.
   */
  caps(nowMs: number): Map<string, number> {
    const caps = new Map<string, number>();
    for (const [id, untilMs] of this.#holds) {
      if (nowMs < untilMs) caps.set(id, 0);
      else this.#holds.delete(id);
    }
    for (const [id, failing] of this.#failing) {
      if (caps.has(id)) continue;
      if (failing.failures < this.#options.afterFailures) continue;
      caps.set(id, !failing.probing && nowMs >= failing.probeAtMs ? 1 : 0);
    }
    return caps;
  }

  /** Whether an attempt claimed now for this subscription is a probe. */
  isBackedOff(subscriptionId: string): boolean {
    const failing = this.#failing.get(subscriptionId);
    return failing !== undefined && failing.failures >= this.#options.afterFailures;
  }

  /** A probe was claimed: no other until it ends. */
  probeSent(subscriptionId: string): void {
    const failing = this.#failing.get(subscriptionId);
    if (failing !== undefined) failing.probing = true;
  }

  /** What an attempt came to; `probe` when it was sent as one. */
  settled(subscriptionId: string, delivered: boolean, probe: boolean, nowMs: number): void {
    if (delivered) {
      this.#failing.delete(subscriptionId);
      return;
    }
    const { afterFailures, firstMs, maxMs } = this.#options;
    let failing = this.#failing.get(subscriptionId);
    if (failing === undefined) {
      failing = { failures: 0, failedProbes: 0, probeAtMs: 0, probing: false };
      this.#failing.set(subscriptionId, failing);
    }
    failing.failures += 1;
    if (probe) {
      failing.probing = false;
      failing.failedProbes += 1;
      failing.probeAtMs =
        nowMs + Math.min(maxMs, firstMs * 2 ** Math.min(failing.failedProbes, 20));
    } else if (failing.failures === afterFailures) {
      failing.probeAtMs = nowMs + Math.min(maxMs, firstMs);
    }
  }

  /**
   * The destination asked for no attempt before `untilMs` (a 429 with `Retry-After`): none from
   * this process until then. Not a failure of the destination; ends a probe.
   */
  held(subscriptionId: string, untilMs: number, probe: boolean): void {
    this.#holds.set(subscriptionId, Math.max(untilMs, this.#holds.get(subscriptionId) ?? 0));
    const failing = this.#failing.get(subscriptionId);
    if (probe && failing !== undefined) failing.probing = false;
  }
}
