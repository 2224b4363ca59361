import { Database } from '@webhooks/db';
import { QueueAdmin } from '@webhooks/queue';
import { testLogger } from './test-logger.js';

/** Where `pnpm start` looks for them (DESIGN §8); tests use the server's `postgres` database. */
export const DEFAULT_TEST_SERVICES = {
  amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
} as const;
/** A probe of a service that is there answers in milliseconds; this is for a busy machine. */
const PROBE_TIMEOUT_MS = 3_000;
/** Deciding that no container runtime exists must not hold the run up for long. */
const RUNTIME_CHECK_TIMEOUT_MS = 5_000;

export interface TestServices {
  amqpUrl: string;
  databaseUrl: string;
  /** Stops what was started for the run (containers); nothing for services found running. */
  stop(): Promise<void>;
}

export interface FindTestServicesOptions {
  /** `TEST_AMQP_URL` / `TEST_DATABASE_URL`; an empty string counts as unset. */
  env: Record<string, string | undefined>;
  /** Where to look when the variables are unset. Default `DEFAULT_TEST_SERVICES`. */
  defaults?: { amqpUrl: string; databaseUrl: string };
  /** Whether testcontainers can start containers. Default: ask testcontainers. */
  containerRuntimeExists?: () => Promise<boolean>;
}

/**
 * Real RabbitMQ and PostgreSQL for a test run, found in this order:
 * 1. `TEST_AMQP_URL` / `TEST_DATABASE_URL` when set;
 * 2. the services at `pnpm start`'s defaults when they answer;
 * 3. containers started by testcontainers when a container runtime exists;
 * otherwise it rejects within seconds with one line naming what to start or set.
 */
export async function findTestServices(options: FindTestServicesOptions): Promise<TestServices> {
  const defaults = options.defaults ?? DEFAULT_TEST_SERVICES;
  const runtimeExists = options.containerRuntimeExists ?? containerRuntimeExists;
  let amqpUrl = options.env.TEST_AMQP_URL || undefined;
  let databaseUrl = options.env.TEST_DATABASE_URL || undefined;

  const [brokerAnswers, databaseAnswers] = await Promise.all([
    amqpUrl === undefined && answers(() => probeBroker(defaults.amqpUrl), PROBE_TIMEOUT_MS),
    databaseUrl === undefined &&
      answers(() => probeDatabase(defaults.databaseUrl), PROBE_TIMEOUT_MS),
  ]);
  if (brokerAnswers) amqpUrl = defaults.amqpUrl;
  if (databaseAnswers) databaseUrl = defaults.databaseUrl;

  const stops: Array<() => Promise<unknown>> = [];
  if (amqpUrl === undefined || databaseUrl === undefined) {
    if (!(await runtimeExists())) {
      const missing = [
        amqpUrl === undefined && `RabbitMQ at ${redacted(defaults.amqpUrl)} (or set TEST_AMQP_URL)`,
        databaseUrl === undefined &&
          `PostgreSQL at ${redacted(defaults.databaseUrl)} (or set TEST_DATABASE_URL)`,
      ].filter(Boolean);
      throw new Error(
        `Tests need ${missing.join(' and ')}: nothing answers there and no container runtime was found; start it, or set the variable.`,
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
  return {
    amqpUrl,
    databaseUrl,
    stop: async () => {
      for (const stop of stops) await stop();
    },
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

function containerRuntimeExists(): Promise<boolean> {
  return answers(async () => {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
  }, RUNTIME_CHECK_TIMEOUT_MS);
}

/** The URL without its password, for a message. */
function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
