import type { TestProject } from 'vitest/node';
import { findTestServices } from './helpers/test-services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    amqpUrl: string;
    databaseUrl: string;
  }
}

/**
 * Real RabbitMQ and PostgreSQL for the integration lane (see `findTestServices` for where they
 * come from). Each test file then makes its own queues and database, so files never see each
 * other's data.
 */
export default async function setup(project: TestProject) {
  const services = await findTestServices({ env: process.env });
  project.provide('amqpUrl', services.amqpUrl);
  project.provide('databaseUrl', services.databaseUrl);
  return () => services.stop();
}
