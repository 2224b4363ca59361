import { JSON_DEPTH_CEILING } from '@webhooks/contracts';
import { describe, expect, it } from 'vitest';
import { ConfigError, IngestEnv, parseEnv, RetentionEnv } from '../src/index.js';

/** The variables a start-up failure names for `env`. */
function badVariables(schema: Parameters<typeof parseEnv>[0], env: Record<string, string>) {
  try {
    parseEnv(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.variables;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('the ingest API limits', () => {
  it('default to a nesting of 64 and timeouts of 30 s (request), 10 s (headers), 5 s (keep-alive)', () => {
    expect(parseEnv(IngestEnv, {})).toMatchObject({
      MAX_JSON_DEPTH: 64,
      REQUEST_TIMEOUT_MS: 30_000,
      HEADERS_TIMEOUT_MS: 10_000,
      KEEP_ALIVE_TIMEOUT_MS: 5000,
    });
  });

  it('cap MAX_JSON_DEPTH at the depth the consumer accepts', () => {
    const ceiling = String(JSON_DEPTH_CEILING);
    expect(parseEnv(IngestEnv, { MAX_JSON_DEPTH: ceiling }).MAX_JSON_DEPTH).toBe(
      JSON_DEPTH_CEILING,
    );
    expect(badVariables(IngestEnv, { MAX_JSON_DEPTH: `${JSON_DEPTH_CEILING + 1}` })).toEqual([
      'MAX_JSON_DEPTH',
    ]);
    expect(badVariables(IngestEnv, { MAX_JSON_DEPTH: '0' })).toEqual(['MAX_JSON_DEPTH']);
  });
});

describe('retention', () => {
  it('defaults to 30 days, hourly, 1000 rows per statement', () => {
    expect(parseEnv(RetentionEnv, {})).toEqual({
      RETENTION_DAYS: 30,
      RETENTION_INTERVAL_MS: 3_600_000,
      RETENTION_BATCH_SIZE: 1000,
    });
  });

  it('takes 0 days as "keep everything", and refuses negative or fractional days', () => {
    expect(parseEnv(RetentionEnv, { RETENTION_DAYS: '0' }).RETENTION_DAYS).toBe(0);
    expect(badVariables(RetentionEnv, { RETENTION_DAYS: '-1' })).toEqual(['RETENTION_DAYS']);
    expect(badVariables(RetentionEnv, { RETENTION_DAYS: '1.5' })).toEqual(['RETENTION_DAYS']);
    expect(badVariables(RetentionEnv, { RETENTION_INTERVAL_MS: '0' })).toEqual([
      'RETENTION_INTERVAL_MS',
    ]);
  });
});
