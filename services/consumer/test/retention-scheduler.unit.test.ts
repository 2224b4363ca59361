import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import type { RemoveExpiredEventsResult } from '../src/retention/remove-expired-events.js';
import { RetentionScheduler } from '../src/retention/retention-scheduler.js';

const INTERVAL_MS = 1000;
const FIRST_RUN_DELAY_MS = 100;
const RESULT: RemoveExpiredEventsResult = {
  deleted: 3,
  batches: 1,
  createdBefore: new Date('2026-01-01T00:00:00Z'),
  interrupted: false,
};

/** A run the test finishes by hand, recording the signal it was given. */
class ControlledRuns {
  readonly started: AbortSignal[] = [];
  active = 0;
  mostActive = 0;
  #finish: Array<(outcome: Error | undefined) => void> = [];

  readonly run = (signal: AbortSignal): Promise<RemoveExpiredEventsResult> => {
    this.started.push(signal);
    this.active += 1;
    this.mostActive = Math.max(this.mostActive, this.active);
    return new Promise((resolve, reject) => {
      this.#finish.push((error) => {
        this.active -= 1;
        if (error === undefined) resolve(RESULT);
        else reject(error);
      });
    });
  };

  finish(error?: Error): void {
    this.#finish.shift()?.(error);
  }
}

let runs: ControlledRuns;
let logs: ReturnType<typeof captureLogs>;
let scheduler: RetentionScheduler;

beforeEach(() => {
  vi.useFakeTimers();
  runs = new ControlledRuns();
  logs = captureLogs('info');
  scheduler = new RetentionScheduler({
    run: runs.run,
    intervalMs: INTERVAL_MS,
    firstRunDelayMs: FIRST_RUN_DELAY_MS,
    logger: logs.logger,
  });
});
afterEach(async () => {
  runs.finish();
  await scheduler.stop();
  vi.useRealTimers();
});

describe('RetentionScheduler', () => {
  it('runs first after the short delay, then every interval after the previous run ended', async () => {
    scheduler.start();
    await vi.advanceTimersByTimeAsync(FIRST_RUN_DELAY_MS - 1);
    expect(runs.started).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs.started).toHaveLength(1);

    runs.finish();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(runs.started).toHaveLength(2);
    expect(logs.lines.find((line) => line.msg === 'retention: removed 3 event(s)')).toMatchObject({
      deleted: 3,
      batches: 1,
      createdBefore: '2026-01-01T00:00:00.000Z',
    });
  });

  it('never starts a run while one is in progress, however long it takes', async () => {
    scheduler.start();
    await vi.advanceTimersByTimeAsync(FIRST_RUN_DELAY_MS);
    await vi.advanceTimersByTimeAsync(20 * INTERVAL_MS);
    expect(runs.started).toHaveLength(1);
    runs.finish();
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(runs.started).toHaveLength(2);
    expect(runs.mostActive).toBe(1);
  });

  it('logs a failed run and tries again at the next interval', async () => {
    scheduler.start();
    await vi.advanceTimersByTimeAsync(FIRST_RUN_DELAY_MS);
    runs.finish(new Error('database unavailable'));
    await vi.advanceTimersByTimeAsync(0);
    expect(logs.lines.map((line) => line.msg)).toContain(
      'retention run failed; trying again at the next interval',
    );
    await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(runs.started).toHaveLength(2);
  });

  it('stop() asks the current run to stop, waits for it, and schedules nothing more', async () => {
    scheduler.start();
    await vi.advanceTimersByTimeAsync(FIRST_RUN_DELAY_MS);
    let stopped = false;
    const stopping = scheduler.stop().then(() => {
      stopped = true;
    });
    expect(runs.started[0]?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    runs.finish();
    await stopping;
    await vi.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(runs.started).toHaveLength(1);
    await scheduler.stop(); // idempotent
  });

  it('stopped before the first run, never runs', async () => {
    scheduler.start();
    await scheduler.stop();
    await vi.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(runs.started).toHaveLength(0);
    scheduler.start(); // no effect once stopped
    await vi.advanceTimersByTimeAsync(10 * INTERVAL_MS);
    expect(runs.started).toHaveLength(0);
  });
});
