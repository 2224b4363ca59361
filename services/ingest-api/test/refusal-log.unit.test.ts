import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import { RefusalLog } from '../src/refusal-log.js';

// Refused signatures are logged at most once per source per interval, with a count, so an
// attacker (or a sender with a stale secret) cannot flood the log.

afterEach(() => {
  vi.useRealTimers();
});

const refusal = (source: string) => ({ source, scheme: 'github', reason: 'signature_mismatch' });

describe('RefusalLog', () => {
  it('one line per source per interval, counting every refusal', () => {
    vi.useFakeTimers();
    const logs = captureLogs('info');
    const log = new RefusalLog({ logger: logs.logger, intervalMs: 60_000 });
    const lines = () => logs.lines.filter((l) => l.msg === 'webhook signature refused');

    for (let i = 0; i < 500; i++) log.refused(refusal('github'));
    log.refused(refusal('stripe'));
    // The first of each source at once.
    expect(lines()).toEqual([
      expect.objectContaining({ source: 'github', refused: 1, level: 40 }),
      expect.objectContaining({ source: 'stripe', refused: 1 }),
    ]);

    vi.advanceTimersByTime(60_000);
    // The other 499 of github in one line; nothing more for stripe, which went quiet.
    expect(lines().slice(2)).toEqual([
      expect.objectContaining({ source: 'github', refused: 499, reason: 'signature_mismatch' }),
    ]);

    // Still limited after that line: the next ones wait for the end of the next interval.
    log.refused(refusal('github'));
    log.refused(refusal('github'));
    expect(lines()).toHaveLength(3);
    vi.advanceTimersByTime(60_000);
    expect(lines().at(-1)).toMatchObject({ source: 'github', refused: 2 });

    // Quiet for an interval: the next refusal is logged at once again.
    vi.advanceTimersByTime(60_000);
    log.refused(refusal('github'));
    expect(lines().at(-1)).toMatchObject({ source: 'github', refused: 1 });
    expect(lines()).toHaveLength(5);
  });

  it('close() logs what is still uncounted, once', () => {
    vi.useFakeTimers();
    const logs = captureLogs('info');
    const log = new RefusalLog({ logger: logs.logger, intervalMs: 60_000 });
    for (let i = 0; i < 3; i++) log.refused(refusal('acme'));
    log.close();
    log.close();
    expect(logs.lines.map((l) => l.refused)).toEqual([1, 2]);
  });
});
