import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, createLogger, parseEnv } from '@webhooks/config';
import dotenv from 'dotenv';
import { MIGRATIONS_DIR, migrateUp } from '../migrate.js';
import { MigrateConfig } from './migrate-config.js';

// `pnpm migrate` and the compose `migrate` job: apply pending migrations to DATABASE_URL,
// creating the database if needed.
dotenv.config({ quiet: true });
try {
  const config = parseEnv(MigrateConfig, process.env);
  const migrationsDir = path.resolve(config.MIGRATIONS_DIR ?? MIGRATIONS_DIR);
  if (!existsSync(migrationsDir)) {
    throw new ConfigError([
      { variable: 'MIGRATIONS_DIR', message: `no migrations folder at ${migrationsDir}` },
    ]);
  }
  const logger = createLogger({
    name: 'migrate',
    level: config.LOG_LEVEL,
    pretty: process.stdout.isTTY === true,
  });
  const applied = await migrateUp({ databaseUrl: config.DATABASE_URL, logger, migrationsDir });
  logger.info(
    { applied },
    applied.length === 0 ? 'database is up to date' : `applied ${applied.length} migration(s)`,
  );
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exitCode = 1;
}
