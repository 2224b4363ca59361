import { describe, expect, it } from 'vitest';
import { afterAttempt, retryAfterMs } from '../src/delivery/retry-schedule.js';

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

describe('a 429 (Too Many Requests)', () => {
  const after429 = (attempt: number, retryAfter?: string) =>
    afterAttempt({
      attempt,
      delivered: false,
      retryDelaysMs: delays,
      nowMs,
      httpStatus: 429,
      retryAfter,
    });

  it('waits for Retry-After, at most an hour, and never fails the delivery by itself', () => {
    expect(after429(1, '7')).toEqual({ status: 'pending', nextAttemptAt: new Date(nowMs + 7_000) });
    expect(after429(1, '86400')).toEqual({
      status: 'pending',
      nextAttemptAt: new Date(nowMs + 3_600_000),
    });
    // Past the schedule's end it is still not a failure.
    expect(after429(9, '1')).toEqual({ status: 'pending', nextAttemptAt: new Date(nowMs + 1_000) });
  });

  it("without a usable Retry-After, waits this attempt's delay (the schedule's last past its end)", () => {
    expect(after429(2)).toEqual({ status: 'pending', nextAttemptAt: new Date(nowMs + 30_000) });
    expect(after429(2, 'soon')).toEqual({
      status: 'pending',
      nextAttemptAt: new Date(nowMs + 30_000),
    });
    expect(after429(9)).toEqual({ status: 'pending', nextAttemptAt: new Date(nowMs + 120_000) });
  });

  it('reads delay-seconds and HTTP dates', () => {
    expect(retryAfterMs('120', nowMs)).toBe(120_000);
    expect(retryAfterMs(' 0 ', nowMs)).toBe(0);
    expect(retryAfterMs('Wed, 06 May 2026 07:00:30 GMT', nowMs)).toBe(30_000);
    expect(retryAfterMs('Wed, 06 May 2026 06:00:00 GMT', nowMs)).toBe(0);
    expect(retryAfterMs('-5', nowMs)).toBeUndefined();
    expect(retryAfterMs('1.5', nowMs)).toBeUndefined();
    expect(retryAfterMs(undefined, nowMs)).toBeUndefined();
  });
});
