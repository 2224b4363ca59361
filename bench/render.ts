import { readFileSync } from 'node:fs';
import { checkColdStart } from './checks.js';
import {
  renderColdStart,
  renderDeliveryOutage,
  renderDrainMemory,
  renderReport,
  renderSoak,
} from './report.js';
import type {
  BenchResult,
  Check,
  ColdStartResult,
  DeliveryOutageResult,
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
  | DrainMemoryResult
  | (DeliveryOutageResult & { checks: Check[] });

function render(): string {
  // The benchmark, the soak and the delivery outage say their mode; the other two single-purpose
  // runs are told by shape.
  if ('runs' in result) return renderColdStart(result, checkColdStart(result));
  if ('heapUsedMaxMb' in result) return renderDrainMemory(result);
  if (result.mode === 'delivery-outage') return renderDeliveryOutage(result, result.checks);
  return result.mode === 'soak' ? renderSoak(result) : renderReport(result, result.checks);
}

process.stdout.write(`${render()}\n`);
