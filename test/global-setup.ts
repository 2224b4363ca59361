import { Database } from '@webhooks/db';
import { QueueAdmin } from '@webhooks/queue';
import type { TestProject } from 'vitest/node';
import { testLogger } from './helpers/test-logger.js';

declare module 'vitest' {
  export interface ProvidedContext {
    amqpUrl: string;
    databaseUrl: string;
  }
}

/** Where `pnpm start` looks for them (DESIGN §8); tests use the server's `postgres` database. */
const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
/** A probe of a service that is there answers in milliseconds; this is for a busy machine. */
const PROBE_TIMEOUT_MS = 3_000;
/** Deciding that no container runtime exists must not hold the run up for long. */
const RUNTIME_CHECK_TIMEOUT_MS = 5_000;

/**
 * Real RabbitMQ and PostgreSQL for the whole run, found in this order:
 * 1. `TEST_AMQP_URL` / `TEST_DATABASE_URL` when set;
 * 2. the services at `pnpm start`'s defaults when they answer;
 * 3. containers started by testcontainers when a container runtime exists;
 * otherwise the run stops at once with one line naming what to start or set.
 * Each test file then makes its own queues and database, so files never see each other's data.
 */
export default async function setup(project: TestProject) {
  const stops: Array<() => Promise<unknown>> = [];
  let amqpUrl = process.env.TEST_AMQP_URL || undefined;
  let databaseUrl = process.env.TEST_DATABASE_URL || undefined;

  const [brokerAnswers, databaseAnswers] = await Promise.all([
    amqpUrl === undefined && answers(() => probeBroker(DEFAULT_AMQP_URL), PROBE_TIMEOUT_MS),
    databaseUrl === undefined &&
      answers(() => probeDatabase(DEFAULT_DATABASE_URL), PROBE_TIMEOUT_MS),
  ]);
  if (brokerAnswers) amqpUrl = DEFAULT_AMQP_URL;
  if (databaseAnswers) databaseUrl = DEFAULT_DATABASE_URL;

  if (amqpUrl === undefined || databaseUrl === undefined) {
    const missing = [
      amqpUrl === undefined ? `RabbitMQ (${redacted(DEFAULT_AMQP_URL)}, or set TEST_AMQP_URL)` : '',
      databaseUrl === undefined
        ? `PostgreSQL (${DEFAULT_DATABASE_URL}, or set TEST_DATABASE_URL)`
        : '',
    ].filter(Boolean);
    if (!(await containerRuntimeExists())) {
      throw new Error(
        `No ${missing.join(' and ')} answers and no container runtime was found: start them, or set the variable.`,
      );
    }
    if (amqpUrl === undefined) {
      const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
      const rabbit = await new RabbitMQContainer('rabbitmq:3.13-management').start();
      stops.push(() => rabbit.stop());
      amqpUrl = rabbit.getAmqpUrl();
    }
    if (databaseUrl === undefined) {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const postgres = await new PostgreSqlContainer('postgres:17-alpine').start();
      stops.push(() => postgres.stop());
      databaseUrl = postgres.getConnectionUri();
    }
  }

  project.provide('amqpUrl', amqpUrl);
  project.provide('databaseUrl', databaseUrl);
  return async () => {
    for (const stop of stops) await stop();
  };
}

async function answers(probe: () => Promise<void>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('probe timed out')), timeoutMs);
  });
  try {
    await Promise.race([probe(), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

async function probeBroker(url: string): Promise<void> {
  const admin = await QueueAdmin.connect(url);
  await admin.close();
}

async function probeDatabase(url: string): Promise<void> {
  const db = new Database({
    connectionString: url,
    logger: testLogger(),
    maxConnections: 1,
    statementTimeoutMs: PROBE_TIMEOUT_MS,
    applicationName: 'webhook-tests-probe',
  });
  try {
    await db.query('SELECT 1');
  } finally {
    await db.close();
  }
}

async function containerRuntimeExists(): Promise<boolean> {
  return answers(async () => {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
  }, RUNTIME_CHECK_TIMEOUT_MS);
}

function redacted(url: string): string {
  const parsed = new URL(url);
  parsed.password = parsed.password ? '***' : '';
  return parsed.toString();
}
