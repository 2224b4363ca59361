import { ConfigError, parseEnv } from '@webhooks/config';
import { describe, expect, it } from 'vitest';
import { ProviderSourcesEnv } from '../src/index.js';

const parse = (env: Record<string, string>) => parseEnv(ProviderSourcesEnv, env);

/** The start-up message for `env`, which must name the variable and never echo a secret. */
function failure(env: Record<string, string>): string {
  try {
    parse(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('WEBHOOK_SOURCES', () => {
  it('defaults to no sources, unknown sources refused', () => {
    expect(parse({})).toMatchObject({ WEBHOOK_SOURCES: {}, WEBHOOK_ALLOW_UNKNOWN_SOURCES: false });
  });

  it('normalises "secret" to "secrets" and defaults the tolerance to 300 s', () => {
    const config = parse({
      WEBHOOK_SOURCES: JSON.stringify({
        github: { scheme: 'github', secret: 'gh' },
        stripe: { scheme: 'stripe', secrets: ['whsec_new', 'whsec_old'], toleranceSeconds: 60 },
        acme: { scheme: 'standard', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
        'ci.internal': { scheme: 'none' },
      }),
      WEBHOOK_ALLOW_UNKNOWN_SOURCES: 'true',
    });
    expect(config.WEBHOOK_SOURCES).toEqual({
      github: { scheme: 'github', secrets: ['gh'] },
      stripe: { scheme: 'stripe', secrets: ['whsec_new', 'whsec_old'], toleranceSeconds: 60 },
      acme: {
        scheme: 'standard',
        secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
        toleranceSeconds: 300,
      },
      'ci.internal': { scheme: 'none' },
    });
    expect(config.WEBHOOK_ALLOW_UNKNOWN_SOURCES).toBe(true);
  });

  it('names the variable for JSON that does not parse, without quoting it', () => {
    const message = failure({ WEBHOOK_SOURCES: '{"github":{"scheme":"github","secret":"hunter2"' });
    expect(message).toContain('WEBHOOK_SOURCES: expected a JSON object; not valid JSON');
    expect(message).not.toContain('hunter2');
  });

  it('names every bad source and field at once, never a secret', () => {
    const message = failure({
      WEBHOOK_SOURCES: JSON.stringify({
        'git hub': { scheme: 'github', secret: 'hunter2' },
        a: { scheme: 'gitlab', secret: 'hunter2' },
        b: { scheme: 'stripe', secret: 'sk_live_hunter2' },
        c: { scheme: 'standard', secrets: ['whsec_ok==', 'whsec_!hunter2'] },
        d: { scheme: 'github' },
        e: { scheme: 'none', secret: 'hunter2' },
        f: { scheme: 'github', secret: 'hunter2', secrets: ['hunter2'] },
        g: { scheme: 'github', secret: 'hunter2', toleranceSeconds: 60 },
        h: { scheme: 'stripe', secret: 'whsec_hunter2', toleranceSeconds: 0 },
      }),
      WEBHOOK_ALLOW_UNKNOWN_SOURCES: 'perhaps',
    });
    for (const variable of [
      'WEBHOOK_SOURCES.git hub',
      'WEBHOOK_SOURCES.a.scheme',
      'WEBHOOK_SOURCES.b.secret',
      'WEBHOOK_SOURCES.c.secrets.1',
      'WEBHOOK_SOURCES.d',
      'WEBHOOK_SOURCES.e',
      'WEBHOOK_SOURCES.f',
      'WEBHOOK_SOURCES.g',
      'WEBHOOK_SOURCES.h.toleranceSeconds',
      'WEBHOOK_ALLOW_UNKNOWN_SOURCES',
    ]) {
      expect(message).toContain(`${variable}:`);
    }
    expect(message).toContain('Invalid configuration (10)');
    expect(message).not.toContain('hunter2');
  });

  it.each([['[]'], ['"github"'], ['null']])('refuses %s: not a JSON object', (value) => {
    expect(failure({ WEBHOOK_SOURCES: value })).toContain(
      'WEBHOOK_SOURCES: expected a JSON object',
    );
  });
});
