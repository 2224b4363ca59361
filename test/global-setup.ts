import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    amqpUrl: string;
    databaseUrl: string;
  }
}

/**
 * Real RabbitMQ and PostgreSQL for the whole run: `TEST_AMQP_URL` / `TEST_DATABASE_URL` when
 * set (CI, machines with local services), otherwise containers started by testcontainers.
 * Each test file then makes its own queues and database, so files never see each other's data.
 */
export default async function setup(project: TestProject) {
  const stops: Array<() => Promise<unknown>> = [];
  let amqpUrl = process.env.TEST_AMQP_URL;
  let databaseUrl = process.env.TEST_DATABASE_URL;

  if (!amqpUrl) {
    const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
    const rabbit = await new RabbitMQContainer('rabbitmq:3.13-management').start();
    stops.push(() => rabbit.stop());
    amqpUrl = rabbit.getAmqpUrl();
  }
  if (!databaseUrl) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const postgres = await new PostgreSqlContainer('postgres:17-alpine').start();
    stops.push(() => postgres.stop());
    databaseUrl = postgres.getConnectionUri();
  }

  project.provide('amqpUrl', amqpUrl);
  project.provide('databaseUrl', databaseUrl);
  return async () => {
    for (const stop of stops) await stop();
  };
}
