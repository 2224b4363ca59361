import { describe, expect, it } from 'vitest';
import { parseFlags, planFor } from '../../bench/lib/flags.js';

// The command line of `pnpm bench`: which queue type, plan and run its flags choose.
describe('bench: flags', () => {
  it('measures classic queues on one node by default, the full plan', () => {
    const flags = parseFlags([]);
    expect(flags).toMatchObject({ queueType: 'classic', cluster: false, quick: false });
    // No rate: the fixed-rate phases run at half of the run's own end to end (see capacity.ts).
    expect(planFor(flags).fixedRate).toBeUndefined();
    expect(planFor(flags)).toMatchObject({
      e2eConnections: [64, 128, 256],
      drainMessages: 100_000,
      fixedSeconds: 60,
      brokerFixedRate: true,
      deliveryEvents: 30_000,
      deliveryLatencySeconds: 30,
    });
  });

  it('takes quorum queues from --queue-type, and always with --cluster', () => {
    expect(parseFlags(['--queue-type', 'quorum']).queueType).toBe('quorum');
    expect(parseFlags(['--cluster']).queueType).toBe('quorum');
    expect(parseFlags(['--cluster', '--queue-type', 'classic']).queueType).toBe('quorum');
  });

  it('--quick shortens every phase and leaves out the broker fixed-rate phase', () => {
    expect(planFor(parseFlags(['--quick']))).toEqual({
      loadSeconds: 4,
      connections: 100,
      e2eSeconds: 5,
      e2eConnections: [100],
      drainMessages: 20_000,
      fixedSeconds: 5,
      warmupSeconds: 1,
      brokerFixedRate: false,
      deliveryEvents: 5000,
      deliveryLatencySeconds: 5,
    });
  });

  it('--rate and --seconds set the fixed-rate phases, and are left unset for the soak to default', () => {
    const flags = parseFlags(['--quick', '--rate', '3000', '--seconds', '7']);
    expect(planFor(flags)).toMatchObject({ fixedRate: 3000, fixedSeconds: 7 });
    expect(parseFlags(['--soak'])).toMatchObject({
      soak: true,
      rate: undefined,
      seconds: undefined,
    });
  });

  it('selects the single-purpose runs and the profile', () => {
    expect(parseFlags(['--cold-start'])).toMatchObject({ coldStart: true, drainMemory: false });
    expect(parseFlags(['--drain-memory'])).toMatchObject({ drainMemory: true, coldStart: false });
    expect(parseFlags(['--delivery-outage'])).toMatchObject({
      deliveryOutage: true,
      drainMemory: false,
      rate: undefined,
      seconds: undefined,
    });
    expect(parseFlags(['--profile']).profile).toBe(true);
  });

  it('refuses a flag it does not know', () => {
    expect(() => parseFlags(['--quik'])).toThrow(/--quik/);
  });
});
