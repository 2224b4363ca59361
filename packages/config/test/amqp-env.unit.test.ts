import { describe, expect, it } from 'vitest';
import { AmqpEnv, ConfigError, parseEnv } from '../src/index.js';

describe('the broker settings', () => {
  it('default to one local broker and quorum queues', () => {
    expect(parseEnv(AmqpEnv, {})).toMatchObject({
      AMQP_URL: ['amqp://guest:guest@127.0.0.1:5672'],
      QUEUE_TYPE: 'quorum',
    });
  });

  it('take the nodes of a cluster as a comma-separated list, in order', () => {
    const env = {
      AMQP_URL: 'amqp://u:p@rabbit-1:5672, amqp://u:p@rabbit-2:5672 ,amqps://u:p@rabbit-3:5671,',
    };
    expect(parseEnv(AmqpEnv, env).AMQP_URL).toEqual([
      'amqp://u:p@rabbit-1:5672',
      'amqp://u:p@rabbit-2:5672',
      'amqps://u:p@rabbit-3:5671',
    ]);
  });

  it('refuse a list with one bad URL, saying which', () => {
    const parse = () =>
      parseEnv(AmqpEnv, { AMQP_URL: 'amqp://rabbit-1:5672,http://rabbit-2:5672' });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(/AMQP_URL: URL 2 of 2: expected an amqp:\/\/ or amqps:\/\/ URL/);
    expect(() => parseEnv(AmqpEnv, { AMQP_URL: ' , ' })).toThrow(/AMQP_URL/);
  });

  it('keep classic queues as a setting', () => {
    expect(parseEnv(AmqpEnv, { QUEUE_TYPE: 'classic' }).QUEUE_TYPE).toBe('classic');
  });
});
