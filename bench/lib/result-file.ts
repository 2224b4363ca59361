import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import type { BenchResult } from '../types.js';
import { ROOT } from './processes.js';

/** Writes `result` to bench/results/<time><suffix>.json; returns that path. */
export function writeResult(time: Date, suffix: string, result: unknown): string {
  const file = `bench/results/${time.toISOString().replace(/[:.]/g, '-')}${suffix}.json`;
  mkdirSync(`${ROOT}bench/results`, { recursive: true });
  writeFileSync(`${ROOT}${file}`, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** The 1-minute load average now (others' work on the machine, and the bench's own). */
export const loadAverageNow = (): number => loadavg()[0] ?? 0;

/** The machine a run ran on, with its load average at the start and now. */
export function machineOf(loadAverageAtStart: number): BenchResult['machine'] {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverage: { start: loadAverageAtStart, end: loadAverageNow() },
  };
}
