import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Batcher } from '../src/pipeline/batcher.js';

/** Items are their own size in bytes. */
function batcher(options: { maxItems?: number; maxBytes?: number; maxWaitMs?: number } = {}) {
  const batches: number[][] = [];
  const errors: unknown[] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const b = new Batcher<number>({
    maxItems: options.maxItems ?? 3,
    maxBytes: options.maxBytes ?? 1000,
    maxWaitMs: options.maxWaitMs ?? 50,
    bytesOf: (n) => n,
    handle: async (batch) => {
      batches.push(batch);
      if (hold) await new Promise<void>((resolve) => (release = resolve));
    },
    onError: (err) => errors.push(err),
  });
  return {
    b,
    batches,
    errors,
    holdNext: () => (hold = true),
    release: () => {
      hold = false;
      release?.();
    },
  };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('Batcher', () => {
  it('hands over a batch as soon as it holds maxItems, without waiting', async () => {
    const { b, batches } = batcher({ maxItems: 3 });
    for (const n of [1, 2, 3, 4]) b.add(n);
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toEqual([[1, 2, 3]]);
    await vi.advanceTimersByTimeAsync(50);
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it('ends a batch before it would pass maxBytes; an item larger than maxBytes goes alone', async () => {
    const { b, batches } = batcher({ maxItems: 100, maxBytes: 10 });
    for (const n of [4, 4, 4, 25, 1]) b.add(n);
    await vi.advanceTimersByTimeAsync(0);
    await b.drain();
    expect(batches).toEqual([[4, 4], [4], [25], [1]]);
    for (const batch of batches.slice(0, -1)) {
      expect(batch.length === 1 || batch.reduce((x, y) => x + y) <= 10).toBe(true);
    }
  });

  it('hands over a partial batch maxWaitMs after its first item, not before', async () => {
    const { b, batches } = batcher({ maxWaitMs: 50 });
    b.add(1);
    await vi.advanceTimersByTimeAsync(30);
    b.add(2);
    await vi.advanceTimersByTimeAsync(19);
    expect(batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches).toEqual([[1, 2]]);
  });

  it('handles one batch at a time while the next fills', async () => {
    const t = batcher({ maxItems: 2 });
    t.holdNext();
    for (const n of [1, 2, 3, 4, 5, 6]) t.b.add(n);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.batches).toEqual([[1, 2]]);
    t.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.batches).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
  });

  it('drain hands over everything pending at once and waits until it is handled', async () => {
    const t = batcher({ maxItems: 2, maxWaitMs: 60_000 });
    t.b.add(1);
    t.b.add(2);
    t.b.add(3);
    t.holdNext();
    await vi.advanceTimersByTimeAsync(0);
    let drained = false;
    const draining = t.b.drain().then(() => (drained = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(drained).toBe(false);
    t.release();
    await draining;
    expect(t.batches).toEqual([[1, 2], [3]]);
  });

  it('flush hands over a partial batch at once, or right after the batch in hand', async () => {
    const t = batcher({ maxItems: 10, maxWaitMs: 50 });
    t.b.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.batches).toEqual([]);

    t.holdNext();
    t.b.add(1);
    t.b.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.batches).toEqual([[1]]);
    // Arrived while [1] is being handled: flushed, they go as soon as it is done.
    t.b.add(2);
    t.b.add(3);
    t.b.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.batches).toEqual([[1]]);
    t.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.batches).toEqual([[1], [2, 3]]);
    // A flush is spent once taken: later partial batches wait for their timer again, even one
    // that arrives while another is handled.
    t.holdNext();
    t.b.add(4);
    await vi.advanceTimersByTimeAsync(49);
    expect(t.batches).toEqual([[1], [2, 3]]);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.batches).toEqual([[1], [2, 3], [4]]);
    t.b.add(5);
    t.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(t.batches).toEqual([[1], [2, 3], [4]]);
    await vi.advanceTimersByTimeAsync(50);
    expect(t.batches).toEqual([[1], [2, 3], [4], [5]]);
  });

  it('reports a handler that throws and carries on with the next batch', async () => {
    const errors: unknown[] = [];
    const seen: number[][] = [];
    const b = new Batcher<number>({
      maxItems: 1,
      maxBytes: 100,
      maxWaitMs: 10,
      bytesOf: () => 1,
      handle: async (batch) => {
        seen.push(batch);
        if (batch[0] === 1) throw new Error('bug');
      },
      onError: (err) => errors.push(err),
    });
    b.add(1);
    b.add(2);
    await b.drain();
    expect(seen).toEqual([[1], [2]]);
    expect(errors).toHaveLength(1);
  });
});
