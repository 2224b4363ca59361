import type { BenchEnvironment } from './lib/environment.js';
import type { BenchFlags } from './lib/flags.js';
import type { Plan } from './types.js';

/** What every phase is given: one object, so a new phase needs no new parameter. */
export interface PhaseContext {
  flags: BenchFlags;
  plan: Plan;
  /** The broker, database, topologies and services the phases share. */
  env: BenchEnvironment;
  /** One progress line on stdout. */
  log: (line: string) => void;
}

/**
 * One phase of the bench (bench/phases/<name>.ts): starts what it measures, measures, stops it,
 * and returns its part of the result file.
 */
export type Phase<Result> = (context: PhaseContext) => Promise<Result>;
