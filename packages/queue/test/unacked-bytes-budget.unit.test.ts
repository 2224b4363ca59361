import { describe, expect, it } from 'vitest';
import { UnackedBytesBudget } from '../src/unacked-bytes-budget.js';

const KIB = 1024;
const MIB = 1024 * KIB;

describe('UnackedBytesBudget', () => {
  it('starts with a window of one message, then sizes it from what arrives', () => {
    const budget = new UnackedBytesBudget({ maxBytes: 4 * MIB, maxCount: 1000 });
    expect(budget.window()).toBe(1);

    budget.take(900 * KIB);
    // 4 MiB - 900 KiB leaves room for 3 more of 900 KiB.
    expect(budget.window()).toBe(3);
    budget.release(900 * KIB);
    expect(budget.heldBytes).toBe(0);
    expect(budget.window()).toBe(4);
  });

  it('never offers more than the prefetch, however small the messages', () => {
    const budget = new UnackedBytesBudget({ maxBytes: 4 * MIB, maxCount: 1000 });
    budget.take(350);
    expect(budget.window()).toBe(1000);
  });

  it('without a bound, is the prefetch from the start and never refuses', () => {
    const budget = new UnackedBytesBudget({ maxBytes: Number.POSITIVE_INFINITY, maxCount: 50 });
    expect(budget.window()).toBe(50);
    for (let i = 0; i < 100; i++) budget.take(MIB);
    expect(budget.canTake()).toBe(true);
    expect(budget.window()).toBe(50);
  });

  it('refuses once the bound is reached and offers no window until bytes are released', () => {
    const budget = new UnackedBytesBudget({ maxBytes: 2 * MIB, maxCount: 1000 });
    budget.take(MIB);
    expect(budget.canTake()).toBe(true);
    budget.take(MIB);
    expect(budget.canTake()).toBe(false);
    expect(budget.window()).toBe(0);
    budget.release(MIB);
    expect(budget.canTake()).toBe(true);
    expect(budget.window()).toBe(1);
  });

  it('takes one message larger than the bound when nothing is held, and then nothing more', () => {
    const budget = new UnackedBytesBudget({ maxBytes: MIB, maxCount: 1000 });
    budget.take(10 * KIB);
    budget.release(10 * KIB);
    expect(budget.canTake()).toBe(true);
    budget.take(3 * MIB);
    expect(budget.canTake()).toBe(false);
    expect(budget.window()).toBe(0);
    budget.release(3 * MIB);
    // The estimate is now 3 MiB, more than the bound: still one at a time, never none.
    expect(budget.window()).toBe(1);
  });

  it('holds at most the bound plus one message when every subscription uses its window', () => {
    // A queue of mixed sizes read through windows as the consumer does: each window filled at
    // once (the broker's burst), deliveries past the bound refused, one batch settled per turn.
    const sizes = [200, 900 * KIB, 5 * KIB, 900 * KIB, 300 * KIB, 64, 1000 * KIB, 40 * KIB];
    const maxBytes = 2 * MIB;
    const budget = new UnackedBytesBudget({ maxBytes, maxCount: 1000 });
    const held: number[] = [];
    let next = 0;
    let peak = 0;
    for (let turn = 0; turn < 10_000 && next < 2000; turn++) {
      const window = budget.window();
      for (let i = 0; i < window; i++) {
        const size = sizes[next % sizes.length] as number;
        if (!budget.canTake()) break;
        budget.take(size);
        held.push(size);
        next += 1;
        peak = Math.max(peak, budget.heldBytes);
      }
      // Settle the older half.
      for (const size of held.splice(0, Math.ceil(held.length / 2))) budget.release(size);
    }
    expect(next).toBe(2000);
    expect(peak).toBeLessThan(maxBytes + Math.max(...sizes));
    expect(peak).toBeGreaterThan(maxBytes / 2);
  });

  it('forgets a large message after a few hundred small ones', () => {
    const budget = new UnackedBytesBudget({ maxBytes: 4 * MIB, maxCount: 1000 });
    budget.take(MIB);
    budget.release(MIB);
    expect(budget.window()).toBe(4);
    for (let i = 0; i < 100; i++) {
      budget.take(KIB);
      budget.release(KIB);
    }
    // 0.99^100 of 1 MiB is still about 375 KiB: the window grows, gradually (4 MiB / 375 KiB).
    expect(budget.window()).toBe(10);
    for (let i = 0; i < 1000; i++) {
      budget.take(KIB);
      budget.release(KIB);
    }
    expect(budget.window()).toBe(1000);
  });
});
