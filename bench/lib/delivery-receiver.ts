import { assertListensOn, type Running, startNode, waitForLine } from './processes.js';

/** What arrived at one path of the receiver (see bench/delivery-receiver.ts). */
export interface ArrivalStats {
  /** POSTs, duplicates included. */
  received: number;
  /** Distinct `webhook-id`s. */
  unique: number;
  /** Sampled deliveries whose signature `standardwebhooks` verified, and those it refused. */
  verified: number;
  notVerified: number;
  /** First and last arrival, ms since the epoch (0 before any). */
  firstAtMs: number;
  lastAtMs: number;
}

/** Each `webhook-id` that arrived at a path and when it first did, ms since the epoch. */
export interface Arrivals {
  webhookIds: string[];
  atMs: number[];
}

/** The fast receiver of the delivery phases, in a process of its own. */
export interface DeliveryReceiver {
  running: Running;
  /** The URL of one destination: a subscription per path. */
  url(path: string): string;
  stats(path: string): Promise<ArrivalStats>;
  arrivals(path: string): Promise<Arrivals>;
}

/**
 * Starts bench/delivery-receiver.ts, verifying one delivery in `verifyEvery` against `secret`,
 * and checks the port it reports is its own.
 */
export async function startDeliveryReceiver(options: {
  secret: string;
  verifyEvery: number;
}): Promise<DeliveryReceiver> {
  const running = startNode('delivery receiver', [
    '--import',
    'tsx',
    'bench/delivery-receiver.ts',
    options.secret,
    String(options.verifyEvery),
  ]);
  try {
    const port = Number((await waitForLine(running, /^listening \d+/)).split(' ')[1]);
    assertListensOn(running, port);
    const base = `http://127.0.0.1:${port}`;
    const read = async <T>(what: string, path: string): Promise<T> => {
      const response = await fetch(`${base}/${what}?path=${encodeURIComponent(path)}`);
      if (!response.ok) throw new Error(`delivery receiver: ${what} answered ${response.status}`);
      return (await response.json()) as T;
    };
    return {
      running,
      url: (path) => `${base}${path}`,
      stats: (path) => read<ArrivalStats>('stats', path),
      arrivals: (path) => read<Arrivals>('arrivals', path),
    };
  } catch (err) {
    await running.stop();
    throw err;
  }
}
