import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import type { Logger } from 'pino';

/**
 * The repository's `migrations/` folder, as seen from this file in the repository. Installed
 * elsewhere (an image built with `pnpm deploy`), the package cannot find it: the migrate CLI
 * then takes the folder from `MIGRATIONS_DIR`.
 */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations', import.meta.url));

export interface MigrateOptions {
  databaseUrl: string;
  logger: Logger;
  /** Default: the repository's `migrations/`. */
  migrationsDir?: string;
}

/**
 * Creates the database named in `databaseUrl` when it does not exist, then applies pending
 * migrations in one transaction. Services never call this; `pnpm migrate` and the compose
 * `migrate` job do.
 */
export async function migrateUp(options: MigrateOptions): Promise<string[]> {
  await createDatabaseIfMissing(options.databaseUrl, options.logger);
  const applied = await runner({
    databaseUrl: options.databaseUrl,
    dir: options.migrationsDir ?? MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    singleTransaction: true,
    checkOrder: true,
    log: (message) => options.logger.debug(message),
  });
  return applied.map((m) => m.name);
}

async function createDatabaseIfMissing(databaseUrl: string, logger: Logger): Promise<void> {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (name === '') return;
  // Connect to the server's maintenance database to create the target one.
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`).catch((err: unknown) => {
        // Another migrator created it between our check and our CREATE: fine.
        if ((err as { code?: string }).code !== '42P04') throw err;
      });
      logger.info({ database: name }, 'database created');
    }
  } finally {
    await client.end();
  }
}
