/**
 * Each delivery lowers the size estimate this much before it is compared with the delivery's own
 * size: a large message stops weighing on the window after a few hundred smaller ones (0.99^500
 * is under 1 %), while one larger than the estimate raises it at once.
 */
const ESTIMATE_DECAY = 0.99;

export interface UnackedBytesBudgetOptions {
  /**
   * Body bytes held unsettled past which no delivery is taken; `Infinity` for none. One
   * delivery is always allowed when nothing is held, however large.
   */
  maxBytes: number;
  /** Most deliveries one subscription may be handed unsettled (the prefetch). */
  maxCount: number;
}

/**
 * The bookkeeping of a byte bound on unsettled deliveries, without a broker. RabbitMQ limits a
 * subscription by a count of messages only (its prefetch; a prefetch in bytes is not
 * implemented), and deliveries already sent still arrive after a subscription is cancelled. So
 * the bound is kept two ways: a subscription's prefetch is the budget left divided by the
 * largest recent message (`window()`), so that steady sizes stay within the bound; and a
 * delivery arriving while the bound is already reached, because sizes grew, is handed back
 * (`canTake()` false) and the subscription cancelled until enough is settled.
 */
export class UnackedBytesBudget {
  readonly #maxBytes: number;
  readonly #maxCount: number;
  #heldBytes = 0;
  /** Largest recent body size, decaying; undefined until the first delivery. */
  #estimate: number | undefined;

  constructor(options: UnackedBytesBudgetOptions) {
    this.#maxBytes = options.maxBytes;
    this.#maxCount = options.maxCount;
  }

  /** Body bytes of the deliveries taken and not yet released. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Whether a delivery arriving now can be taken: while the bytes held are under the bound. */
  canTake(): boolean {
    return this.#heldBytes < this.#maxBytes;
  }

  /** Counts a delivery of `bytes` as held, and learns its size. */
  take(bytes: number): void {
    this.#heldBytes += bytes;
    this.#estimate = Math.max(bytes, (this.#estimate ?? 0) * ESTIMATE_DECAY);
  }

  /** A delivery of `bytes` was settled (or can no longer be: its channel closed). */
  release(bytes: number): void {
    this.#heldBytes = Math.max(0, this.#heldBytes - bytes);
  }

  /**
   * The prefetch for a subscription starting now: as many messages of the largest recent size as
   * fit in what the bound leaves, at least 1 and at most `maxCount`; 0 while the bound is reached
   * (wait for a release). Before any delivery the size is unknown: 1, and the first delivery
   * teaches it.
   */
  window(): number {
    if (!this.canTake()) return 0;
    if (this.#maxBytes === Number.POSITIVE_INFINITY) return this.#maxCount;
    if (this.#estimate === undefined) return 1;
    const fits = Math.floor((this.#maxBytes - this.#heldBytes) / this.#estimate);
    return Math.min(this.#maxCount, Math.max(1, fits));
  }
}
