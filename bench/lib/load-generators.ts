import type { BrokerLoadPlan } from '../broker-load.js';
import type { ClosedLoad } from '../types.js';
import type { OpenLoopResult } from './open-loop.js';
import { runJson } from './processes.js';

// Each load generator runs in its own process, so its CPU is not the measured server's.

/**
 * autocannon against `url`: `connections` kept busy for `seconds`; with `overallRate`, together
 * sending at most that many requests per second.
 */
export const closedLoad = (
  url: string,
  connections: number,
  seconds: number,
  overallRate?: number,
) =>
  runJson<ClosedLoad>([
    'bench/closed-load.ts',
    url,
    String(connections),
    String(seconds),
    ...(overallRate === undefined ? [] : [String(overallRate)]),
  ]);

/** Requests sent on schedule at `rate` per second, answered or not (open loop). */
export const fixedRateLoad = (url: string, rate: number, seconds: number, warmupSeconds: number) =>
  runJson<OpenLoopResult>([
    'bench/fixed-rate-load.ts',
    url,
    String(rate),
    String(seconds),
    String(warmupSeconds),
  ]);

/** Confirmed publishes straight to the broker at `amqpUrls` (see bench/broker-load.ts). */
export const brokerLoad = <T>(amqpUrls: string[], plan: Omit<BrokerLoadPlan, 'amqpUrl'>) =>
  runJson<T>(['bench/broker-load.ts', JSON.stringify({ amqpUrl: amqpUrls, ...plan })]);
