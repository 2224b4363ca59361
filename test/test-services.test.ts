import { describe, expect, inject, it } from 'vitest';
import { freePort } from './helpers/free-port.js';
import { findTestServices } from './helpers/test-services.js';

// How `pnpm test` finds RabbitMQ and PostgreSQL on a machine where nothing was configured.

async function closedPorts() {
  return {
    amqpUrl: `amqp://guest:guest@127.0.0.1:${await freePort()}`,
    databaseUrl: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`,
  };
}

describe('findTestServices', () => {
  it('uses the services at the defaults when they answer and nothing is set', async () => {
    const running = { amqpUrl: inject('amqpUrl'), databaseUrl: inject('databaseUrl') };
    const services = await findTestServices({
      env: { TEST_AMQP_URL: '', TEST_DATABASE_URL: '' },
      defaults: running,
      containerRuntimeExists: async () => {
        throw new Error('must not look for containers when the services answer');
      },
    });
    expect({ amqpUrl: services.amqpUrl, databaseUrl: services.databaseUrl }).toEqual(running);
    await services.stop();
  });

  it('prefers TEST_AMQP_URL / TEST_DATABASE_URL over the defaults', async () => {
    const services = await findTestServices({
      env: { TEST_AMQP_URL: inject('amqpUrl'), TEST_DATABASE_URL: inject('databaseUrl') },
      defaults: await closedPorts(),
      containerRuntimeExists: async () => false,
    });
    expect(services.amqpUrl).toBe(inject('amqpUrl'));
    expect(services.databaseUrl).toBe(inject('databaseUrl'));
  });

  it('with nothing answering and no container runtime, stops within 10 s naming what to start or set', async () => {
    const defaults = await closedPorts();
    const startedMs = Date.now();
    const error: Error = await findTestServices({
      env: {},
      defaults,
      containerRuntimeExists: async () => false,
    }).then(
      () => {
        throw new Error('expected a refusal');
      },
      (e: Error) => e,
    );
    expect(Date.now() - startedMs).toBeLessThan(10_000);
    expect(error.message.split('\n')).toHaveLength(1);
    expect(error.message).toContain(
      `RabbitMQ at amqp://guest:***@127.0.0.1:${new URL(defaults.amqpUrl).port}`,
    );
    expect(error.message).toContain('TEST_AMQP_URL');
    expect(error.message).toContain(`PostgreSQL at ${defaults.databaseUrl}`);
    expect(error.message).toContain('TEST_DATABASE_URL');
  });

  it('names only the service that is missing', async () => {
    const { amqpUrl } = await closedPorts();
    const error = await findTestServices({
      env: {},
      defaults: { amqpUrl, databaseUrl: inject('databaseUrl') },
      containerRuntimeExists: async () => false,
    }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('TEST_AMQP_URL');
    expect((error as Error).message).not.toContain('PostgreSQL');
  });
});
