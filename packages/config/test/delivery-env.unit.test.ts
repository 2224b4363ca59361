import { describe, expect, it } from 'vitest';
import { DeliveryEnv, LogEnv, parseEnv } from '../src/index.js';

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
