import { Database } from '@webhooks/db';
import type { Logger } from 'pino';

/**
 * The database of an operator command: one connection is all it needs, and its name
 * (`webhook-<command>`) shows in `pg_stat_activity`.
 */
export function commandDatabase(options: {
  config: { DATABASE_URL: string; DATABASE_STATEMENT_TIMEOUT_MS: number };
  logger: Logger;
  command: string;
}): Database {
  return new Database({
    connectionString: options.config.DATABASE_URL,
    logger: options.logger,
    maxConnections: 1,
    statementTimeoutMs: options.config.DATABASE_STATEMENT_TIMEOUT_MS,
    applicationName: `webhook-${options.command}`,
  });
}
