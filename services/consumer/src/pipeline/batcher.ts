export interface BatcherOptions<T> {
  /** Most items per batch. */
  maxItems: number;
  /** Most bytes per batch (by `bytesOf`); a single larger item still makes a batch of one. */
  maxBytes: number;
  /** Longest the first item of a batch waits for the batch to fill, ms. */
  maxWaitMs: number;
  bytesOf: (item: T) => number;
  /** Handles one batch; the next batch is handed over only once this one resolves. */
  handle: (batch: T[]) => Promise<void>;
  /** A handler that throws is a bug: it is reported here and batching carries on. */
  onError: (err: unknown) => void;
}

/**
 * Groups items into batches of at most `maxItems` and `maxBytes`, handing a batch over as soon
 * as one is full or `maxWaitMs` after its first item arrived. One batch is handled at a time
 * while the next one fills. Knows nothing of queues or databases.
 */
export class Batcher<T> {
  readonly #options: BatcherOptions<T>;
  #pending: T[] = [];
  #pendingBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #handling: Promise<void> | undefined;
  #draining = false;
  /** `flush()` asked for what is pending to go next, full or not. */
  #flushing = false;

  constructor(options: BatcherOptions<T>) {
    this.#options = options;
  }

  add(item: T): void {
    this.#pending.push(item);
    this.#pendingBytes += this.#options.bytesOf(item);
    if (this.#hasFullBatch()) this.#handleSoon();
    else this.#timer ??= setTimeout(() => this.#handleSoon(), this.#options.maxWaitMs);
  }

  /** Hands over everything pending, without waiting for the timer, and waits until handled. */
  async drain(): Promise<void> {
    this.#draining = true;
    while (this.#handling !== undefined || this.#pending.length > 0) {
      if (this.#handling === undefined) this.#handleSoon();
      await this.#handling;
    }
  }

  /**
   * Hands over what is pending without waiting for `maxWaitMs`: now, or right after the batch in
   * hand. For when no more items can come until a batch is handled.
   */
  flush(): void {
    if (this.#pending.length === 0) return;
    this.#flushing = true;
    this.#handleSoon();
  }

  #hasFullBatch(): boolean {
    return (
      this.#pending.length >= this.#options.maxItems || this.#pendingBytes >= this.#options.maxBytes
    );
  }

  #handleSoon(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#handling ??= this.#handleWhileFull().finally(() => {
      this.#handling = undefined;
      // Items that arrived during the last batch and did not fill one still need a timer.
      if (this.#pending.length > 0) {
        this.#timer ??= setTimeout(() => this.#handleSoon(), this.#options.maxWaitMs);
      }
    });
  }

  async #handleWhileFull(): Promise<void> {
    do {
      const batch = this.#take();
      try {
        await this.#options.handle(batch);
      } catch (err) {
        this.#options.onError(err);
      }
    } while (
      this.#hasFullBatch() ||
      ((this.#draining || this.#flushing) && this.#pending.length > 0)
    );
  }

  /** The longest run at the front within both limits; at least one item. */
  #take(): T[] {
    const { bytesOf, maxBytes, maxItems } = this.#options;
    this.#flushing = false;
    let count = 0;
    let bytes = 0;
    for (const item of this.#pending) {
      const size = bytesOf(item);
      if (count === maxItems || (count > 0 && bytes + size > maxBytes)) break;
      count += 1;
      bytes += size;
    }
    this.#pendingBytes -= bytes;
    return this.#pending.splice(0, count);
  }
}
