import { describe, expect, it } from 'vitest';
import { ConfigError, DeliveryEnv, LogEnv, parseCidr, parseEnv } from '../src/index.js';

/** The start-up failure for `env`. */
function configError(env: Record<string, string>): ConfigError {
  try {
    parseEnv(DeliveryEnv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('DELIVERY_ALLOWED_NETWORKS', () => {
  it('is undefined when unset, empty or blank: any address but link-local', () => {
    expect(parseEnv(DeliveryEnv, {}).DELIVERY_ALLOWED_NETWORKS).toBeUndefined();
    expect(
      parseEnv(DeliveryEnv, { DELIVERY_ALLOWED_NETWORKS: '' }).DELIVERY_ALLOWED_NETWORKS,
    ).toBeUndefined();
    expect(
      parseEnv(DeliveryEnv, { DELIVERY_ALLOWED_NETWORKS: '  ' }).DELIVERY_ALLOWED_NETWORKS,
    ).toBeUndefined();
  });

  it('becomes the list of CIDRs, spaces trimmed, IPv6 and bare addresses included', () => {
    const env = parseEnv(DeliveryEnv, {
      DELIVERY_ALLOWED_NETWORKS: '10.0.0.0/8, 192.168.1.0/24 ,fd00::/8,203.0.113.7',
    });
    expect(env.DELIVERY_ALLOWED_NETWORKS).toEqual([
      '10.0.0.0/8',
      '192.168.1.0/24',
      'fd00::/8',
      '203.0.113.7',
    ]);
  });

  it('fails start-up naming the variable and every bad entry', () => {
    const error = configError({
      DELIVERY_ALLOWED_NETWORKS: '10.0.0.0/8,10.0.0.0/33,internal.example,fd00::/129',
    });
    expect(error.variables).toEqual(['DELIVERY_ALLOWED_NETWORKS']);
    expect(error.message).toContain('"10.0.0.0/33"');
    expect(error.message).toContain('"internal.example"');
    expect(error.message).toContain('"fd00::/129"');
    expect(error.message).not.toContain('"10.0.0.0/8"');
    expect(configError({ DELIVERY_ALLOWED_NETWORKS: ',' }).variables).toEqual([
      'DELIVERY_ALLOWED_NETWORKS',
    ]);
  });
});

describe('parseCidr', () => {
  it('reads networks and bare addresses of both families', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('fe80::/10')).toEqual({ address: 'fe80::', prefix: 10, family: 'ipv6' });
    expect(parseCidr('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    expect(parseCidr('0.0.0.0/0')).toEqual({ address: '0.0.0.0', prefix: 0, family: 'ipv4' });
  });

  it('refuses what is not a CIDR', () => {
    for (const text of [
      '',
      '10.0.0/8',
      '10.0.0.0/',
      '10.0.0.0/-1',
      '10.0.0.0/8/8',
      '10.0.0.0/ 8',
    ]) {
      expect(parseCidr(text), text).toBeUndefined();
    }
  });
});

describe('the delivery settings', () => {
  it('publish to webhooks.events by default, to another exchange when named, to none when empty', () => {
    expect(parseEnv(DeliveryEnv, {}).EVENTS_EXCHANGE).toBe('webhooks.events');
    expect(parseEnv(DeliveryEnv, { EVENTS_EXCHANGE: 'audit' }).EVENTS_EXCHANGE).toBe('audit');
    expect(parseEnv(DeliveryEnv, { EVENTS_EXCHANGE: '' }).EVENTS_EXCHANGE).toBe('');
    // Also inside a service's composed settings; other empty settings still mean "unset".
    const composed = parseEnv(LogEnv.and(DeliveryEnv), { EVENTS_EXCHANGE: '', LOG_LEVEL: '' });
    expect(composed).toMatchObject({ EVENTS_EXCHANGE: '', LOG_LEVEL: 'info' });
  });

  it('run both roles by default, or those listed', () => {
    expect([...parseEnv(DeliveryEnv, {}).CONSUMER_ROLES]).toEqual(['store', 'deliver']);
    expect([...parseEnv(DeliveryEnv, { CONSUMER_ROLES: 'deliver' }).CONSUMER_ROLES]).toEqual([
      'deliver',
    ]);
    expect(() => parseEnv(DeliveryEnv, { CONSUMER_ROLES: 'store,send' })).toThrow(/CONSUMER_ROLES/);
  });
});
