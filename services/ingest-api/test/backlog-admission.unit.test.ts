import { describe, expect, it } from 'vitest';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import { BacklogAdmission, retryAfterSeconds } from '../src/backlog-admission.js';
import { IngestMetrics } from '../src/metrics.js';

/** An admission reading depths from a script, on a clock the test moves. */
function scripted(maxBacklog: number) {
  let nowMs = 0;
  let depth: number | undefined = 0;
  const logs = captureLogs();
  const admission = new BacklogAdmission({
    readDepth: async () => depth,
    maxBacklog,
    metrics: new IngestMetrics({ brokerConnected: () => true }),
    logger: logs.logger,
    now: () => nowMs,
  });
  /** One read, `seconds` after the previous one, finding `next` messages. */
  const readAfter = async (seconds: number, next: number | undefined) => {
    nowMs += seconds * 1000;
    depth = next;
    await admission.read();
  };
  return { admission, readAfter, logs };
}

describe('retryAfterSeconds', () => {
  it('is the time to drain below the resume mark at the measured rate, within 1 to 300 s', () => {
    expect(retryAfterSeconds({ backlog: 1000, resumeBelow: 900, drainPerSecond: 10 })).toBe(11);
    expect(retryAfterSeconds({ backlog: 1000, resumeBelow: 900, drainPerSecond: 1e6 })).toBe(1);
    expect(retryAfterSeconds({ backlog: 1e6, resumeBelow: 900, drainPerSecond: 1 })).toBe(300);
    expect(retryAfterSeconds({ backlog: 1000, resumeBelow: 900, drainPerSecond: 0 })).toBe(300);
    expect(retryAfterSeconds({ backlog: 1000, resumeBelow: 900, drainPerSecond: undefined })).toBe(
      300,
    );
  });
});

describe('BacklogAdmission', () => {
  it('sheds from the limit, resumes only below 90 % of it, and logs each change once', async () => {
    const { admission, readAfter, logs } = scripted(100);
    await readAfter(1, 50);
    expect(admission.verdict()).toEqual({ admit: true });
    await readAfter(1, 100);
    expect(admission.verdict()).toMatchObject({ admit: false, backlog: 100, limit: 100 });
    await readAfter(1, 95);
    expect(admission.state).toBe('shedding');
    await readAfter(1, 89);
    expect(admission.state).toBe('open');
    expect(admission.verdict()).toEqual({ admit: true });
    expect(logs.lines.map((line) => line.msg)).toEqual([
      'backlog known: admission control active',
      'backlog at MAX_BACKLOG: new webhooks are refused with 503',
      'backlog drained: accepting webhooks again',
    ]);
  });

  it('measures the drain rate from the depth and its own publishes, and derives Retry-After from it', async () => {
    const { admission, readAfter } = scripted(1000);
    await readAfter(1, 1000);
    // 200 published by this process, and the depth rose by 100 only: 100 drained per second.
    for (let n = 0; n < 200; n++) admission.noteAccepted();
    await readAfter(1, 1100);
    expect(admission.drainPerSecond).toBe(100);
    // Nothing published, 100 more drained: still 100/s; (1000 − 900 + 1) / 100 → 2 s.
    await readAfter(1, 1000);
    expect(admission.drainPerSecond).toBe(100);
    expect(admission.verdict()).toMatchObject({ admit: false, retryAfterSeconds: 2 });
  });

  it('sheds nothing while the depth is unknown (the broker path answers queue_unavailable)', async () => {
    const { admission, readAfter } = scripted(10);
    await readAfter(1, 20);
    expect(admission.verdict().admit).toBe(false);
    await readAfter(1, undefined);
    expect(admission.state).toBe('unknown');
    expect(admission.verdict()).toEqual({ admit: true });
  });
});
