import { readdirSync, readFileSync } from 'node:fs';
import { DeathReason, RejectionReason } from '@webhooks/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../src/ops/routes/console.js';
import { staticOpsApp } from './fixtures/static-ops-app.js';

// The console's reason filters offer the reasons the services define: the consumer's
// DeathReason (its dead-letter policy, x-death-reason) and the contracts' RejectionReason
// (the ingest API's quarantine). Adding one there must reach the console with no other edit.

const CONSOLE_DIR = new URL('../console/', import.meta.url);
const ALL_REASONS = [...DeathReason.options, ...RejectionReason.options];

let app: ReturnType<typeof staticOpsApp>;

beforeAll(() => {
  app = staticOpsApp();
});
afterAll(() => app.close());

describe("the console's reasons", () => {
  it('are the TypeScript lists, served as the module the console imports', async () => {
    const res = await app.inject('/console/reasons.js');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/javascript');
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
    // Evaluated as the browser would: an ES module, its exports.
    const served = await import(
      `data:text/javascript;base64,${Buffer.from(res.body).toString('base64')}`
    );
    expect(Object.keys(served).sort()).toEqual(['DEAD_LETTER_REASONS', 'REJECTION_REASONS']);
    expect(served.DEAD_LETTER_REASONS).toEqual(DeathReason.options);
    expect(served.REJECTION_REASONS).toEqual(RejectionReason.options);
    expect(DeathReason.options).toContain('retries_exhausted');
    expect(RejectionReason.options).toContain('invalid_signature');
  });

  it('are imported by the screens that filter by them, and copied into no console file', () => {
    const files = readdirSync(CONSOLE_DIR, { recursive: true, encoding: 'utf8' }).filter((file) =>
      file.endsWith('.js'),
    );
    expect(files).toContain('screens/dead-letters.js');
    expect(files).not.toContain('reasons.js');
    const copies: string[] = [];
    for (const file of files) {
      const text = readFileSync(new URL(file, CONSOLE_DIR), 'utf8');
      for (const reason of ALL_REASONS) {
        if (new RegExp(`['"\`]${reason}['"\`]`).test(text)) copies.push(`${file}: ${reason}`);
      }
    }
    expect(copies).toEqual([]);
    const source = (file: string) => readFileSync(new URL(file, CONSOLE_DIR), 'utf8');
    expect(source('screens/dead-letters.js')).toMatch(
      /import \{ DEAD_LETTER_REASONS \} from '\.\.\/reasons\.js';[\s\S]*options: DEAD_LETTER_REASONS/,
    );
    expect(source('screens/rejected.js')).toMatch(
      /import \{ REJECTION_REASONS \} from '\.\.\/reasons\.js';[\s\S]*options: REJECTION_REASONS/,
    );
  });
});
