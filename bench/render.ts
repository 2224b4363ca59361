import { readFileSync } from 'node:fs';
import { renderReport, renderSoak } from './report.js';
import type { BenchResult, Check, SoakResult } from './types.js';

// `tsx bench/render.ts bench/results/<file>.json`: the Markdown report of a stored run again.
const file = process.argv[2];
if (file === undefined) throw new Error('usage: tsx bench/render.ts <result.json>');
const result = JSON.parse(readFileSync(file, 'utf8')) as
  | (BenchResult & { checks: Check[] })
  | SoakResult;
process.stdout.write(
  `${result.mode === 'soak' ? renderSoak(result) : renderReport(result, result.checks)}\n`,
);
