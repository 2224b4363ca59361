import { describe, expect, it } from 'vitest';
import { afterAttempt } from '../src/delivery/retry-schedule.js';

const delays = [5_000, 30_000, 120_000];
const nowMs = Date.parse('2026-05-06T07:00:00Z');

describe('the retry schedule of a delivery', () => {
  it('a success ends it, whatever the attempt', () => {
    expect(afterAttempt({ attempt: 3, delivered: true, retryDelaysMs: delays, nowMs })).toEqual({
      status: 'delivered',
    });
  });

  it('each failure waits the next delay, then the delivery fails', () => {
    const after = (attempt: number) =>
      afterAttempt({ attempt, delivered: false, retryDelaysMs: delays, nowMs });
    expect(after(1)).toEqual({ status: 'pending', nextAttemptAt: new Date(nowMs + 5_000) });
    expect(after(2)).toEqual({ status: 'pending', nextAttemptAt: new Date(nowMs + 30_000) });
    expect(after(3)).toEqual({ status: 'pending', nextAttemptAt: new Date(nowMs + 120_000) });
    expect(after(4)).toEqual({ status: 'failed' });
  });

  it('with no delays, one failed attempt is final', () => {
    expect(afterAttempt({ attempt: 1, delivered: false, retryDelaysMs: [], nowMs })).toEqual({
      status: 'failed',
    });
  });
});
