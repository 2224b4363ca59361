import { describe, expect, it } from 'vitest';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import { runShutdownSteps, shutdownOnce } from '../src/shutdown-steps.js';

describe('runShutdownSteps', () => {
  it('runs every step in order even after one fails, logs it by name, then rejects with it', async () => {
    const logs = captureLogs();
    const ran: string[] = [];
    const broken = new Error('pool already gone');
    const outcome = await runShutdownSteps({
      logger: logs.logger,
      what: 'consumer',
      steps: [
        ['first', () => ran.push('first')],
        [
          'second',
          async () => {
            ran.push('second');
            throw broken;
          },
        ],
        ['third', async () => ran.push('third')],
      ],
    }).catch((err: unknown) => err);

    expect(ran).toEqual(['first', 'second', 'third']);
    expect(outcome).toBeInstanceOf(AggregateError);
    expect((outcome as AggregateError).message).toBe('consumer shutdown incomplete');
    expect((outcome as AggregateError).errors).toEqual([broken]);
    expect(logs.lines.filter((l) => l.msg === 'shutdown step failed').map((l) => l.step)).toEqual([
      'second',
    ]);
  });

  it('resolves when every step succeeds', async () => {
    const logs = captureLogs();
    await expect(
      runShutdownSteps({ logger: logs.logger, what: 'ingest', steps: [['only', () => undefined]] }),
    ).resolves.toBeUndefined();
  });
});

describe('shutdownOnce', () => {
  it('runs the steps on the first call only; a second call, even while the first runs, gets the same outcome', async () => {
    const logs = captureLogs();
    let closes = 0;
    const stop = shutdownOnce({
      logger: logs.logger,
      what: 'quarantine',
      steps: [
        [
          'close',
          async () => {
            closes += 1;
            throw new Error('already closed');
          },
        ],
      ],
    });
    const first = stop();
    const second = stop();
    expect(second).toBe(first);
    await expect(first).rejects.toThrow('quarantine shutdown incomplete');
    await expect(stop()).rejects.toThrow('quarantine shutdown incomplete');
    expect(closes).toBe(1);
  });
});
