import { readFileSync } from 'node:fs';
import { renderColdStart, renderDrainMemory, renderReport, renderSoak } from './report.js';
import type {
  BenchResult,
  Check,
  ColdStartResult,
  DrainMemoryResult,
  SoakResult,
} from './types.js';

// `tsx bench/render.ts bench/results/<file>.json`: the report of a stored run again.
const file = process.argv[2];
if (file === undefined) throw new Error('usage: tsx bench/render.ts <result.json>');
const result = JSON.parse(readFileSync(file, 'utf8')) as
  | (BenchResult & { checks: Check[] })
  | SoakResult
  | ColdStartResult
  | DrainMemoryResult;

function render(): string {
  // Only the benchmark and the soak say their mode; the two single-purpose runs are told by shape.
  if ('runs' in result) return renderColdStart(result);
  if ('heapUsedMaxMb' in result) return renderDrainMemory(result);
  return result.mode === 'soak' ? renderSoak(result) : renderReport(result, result.checks);
}

process.stdout.write(`${render()}\n`);
