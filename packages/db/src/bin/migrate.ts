import { ConfigError, createLogger, DatabaseEnv, LogEnv, parseEnv } from '@webhooks/config';
import dotenv from 'dotenv';
import { migrateUp } from '../migrate.js';

// `pnpm migrate`: apply pending migrations to DATABASE_URL, creating the database if needed.
dotenv.config({ quiet: true });
try {
  const config = parseEnv(DatabaseEnv.and(LogEnv), process.env);
  const logger = createLogger({
    name: 'migrate',
    level: config.LOG_LEVEL,
    pretty: process.stdout.isTTY === true,
  });
  const applied = await migrateUp({ databaseUrl: config.DATABASE_URL, logger });
  logger.info(
    { applied },
    applied.length === 0 ? 'database is up to date' : `applied ${applied.length} migration(s)`,
  );
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exitCode = 1;
}
