import type { ArrivalStats, DeliveryReceiver } from './delivery-receiver.js';

/** Stats of several paths of the receiver, summed; first and last arrival over all of them. */
export interface ArrivalsAt {
  paths: ArrivalStats[];
  unique: number;
  verified: number;
  notVerified: number;
  firstAtMs: number;
  lastAtMs: number;
}

export async function arrivalsAt(receiver: DeliveryReceiver, paths: string[]): Promise<ArrivalsAt> {
  const stats = await Promise.all(paths.map((path) => receiver.stats(path)));
  const sum = (pick: (s: ArrivalStats) => number) => stats.reduce((a, s) => a + pick(s), 0);
  const firsts = stats.map((s) => s.firstAtMs).filter((ms) => ms > 0);
  return {
    paths: stats,
    unique: sum((s) => s.unique),
    verified: sum((s) => s.verified),
    notVerified: sum((s) => s.notVerified),
    firstAtMs: firsts.length === 0 ? 0 : Math.min(...firsts),
    lastAtMs: Math.max(0, ...stats.map((s) => s.lastAtMs)),
  };
}

/**
 * Polls the receiver every 100 ms until each path has `expectedEach` distinct deliveries or
 * `timeoutMs` passed; what had arrived then.
 */
export async function waitForArrivals(
  receiver: DeliveryReceiver,
  paths: string[],
  expectedEach: number,
  timeoutMs: number,
): Promise<ArrivalsAt> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const arrived = await arrivalsAt(receiver, paths);
    if (arrived.paths.every((s) => s.unique >= expectedEach) || Date.now() > deadline) {
      return arrived;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
