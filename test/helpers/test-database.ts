import { Database, migrateUp } from '@webhooks/db';
import { testLogger } from './test-logger.js';
import { uniqueName } from './test-names.js';

export interface TestDatabase {
  url: string;
  /** A small pool for the test's own queries. */
  db: Database;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** A fresh database with every migration applied, for one test file. */
export async function createTestDatabase(serverUrl: string): Promise<TestDatabase> {
  const url = new URL(serverUrl);
  url.pathname = `/${uniqueName('webhooks_test')}`;
  await migrateUp({ databaseUrl: url.toString(), logger: testLogger() });
  const db = new Database({
    connectionString: url.toString(),
    logger: testLogger(),
    maxConnections: 2,
    statementTimeoutMs: 30_000,
    applicationName: 'webhook-tests',
  });
  return {
    url: url.toString(),
    db,
    drop: async () => {
      await db.close();
      const admin = new URL(serverUrl);
      admin.pathname = '/postgres';
      const server = new Database({
        connectionString: admin.toString(),
        logger: testLogger(),
        maxConnections: 1,
        statementTimeoutMs: 30_000,
        applicationName: 'webhook-tests',
      });
      await server.query(`DROP DATABASE IF EXISTS "${url.pathname.slice(1)}" WITH (FORCE)`);
      await server.close();
    },
  };
}
