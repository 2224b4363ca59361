import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FaultProxy } from '../../../test/helpers/fault-proxy.js';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { Database, DatabaseUnavailableError } from '../src/index.js';

// A transaction's connection is reset between two of its statements (the database restarted,
// a network cut). The connection's error must end that transaction, not the process: with no
// listener on a checked-out client, node treats it as an uncaught exception.
let database: TestDatabase;
let proxy: FaultProxy;
let db: Database;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  const front = await FaultProxy.inFrontOf(database.url, 5432);
  proxy = front.proxy;
  db = new Database({
    connectionString: front.url,
    logger: testLogger(),
    maxConnections: 2,
    statementTimeoutMs: 5000,
    applicationName: 'transaction-test',
  });
});

afterAll(async () => {
  await db?.close();
  await proxy?.close();
  await database?.drop();
});

describe('a transaction whose connection is lost between statements', () => {
  it('fails with DatabaseUnavailableError, and the next transaction gets a new connection', async () => {
    const failed = db.transaction(async (query) => {
      await query('SELECT 1');
      proxy.cut();
      await waitFor('the connection to be reset', () => proxy.openConnections === 0);
      await query('SELECT 2');
    });
    await expect(failed).rejects.toBeInstanceOf(DatabaseUnavailableError);

    proxy.restore();
    const answer = await db.transaction(async (query) => query<{ n: number }>('SELECT 3 AS n'));
    expect(answer.rows).toEqual([{ n: 3 }]);
  });
});
