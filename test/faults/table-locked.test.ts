import { Database } from '@webhooks/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PipelineFixture, startPipeline } from '../helpers/pipeline-fixture.js';
import { Reconciler } from '../helpers/reconcile.js';
import { testLogger } from '../helpers/test-logger.js';

// A migration holds the events table against writes (the partition upgrade does, for seconds
// per million rows). The consumer's inserts wait for a lock only up to its lock timeout (half
// its statement timeout); then it holds its messages, as in an outage, and tries again, so it
// waits out a lock of any length: nothing is retried to death or dead-lettered for it.
const source = 'table-locked';
const COUNT = 200;
const STATEMENT_TIMEOUT_MS = 1000;
/**
 * Longer than a batch failing on its statement timeout at every try would last before it is
 * dead-lettered: four tries of 1 s, and the retry delays of 1, 2 and 4 s between them.
 */
const LOCK_HELD_MS = 14_000;
let pipeline: PipelineFixture;

beforeAll(async () => {
  pipeline = await startPipeline({
    consumerEnv: { DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS) },
  });
});

afterAll(async () => {
  await pipeline?.close();
});

describe('the events table locked by a migration', () => {
  it('is waited out: every accepted event stored once when the lock goes, none dead-lettered', async () => {
    const locker = new Database({
      connectionString: pipeline.database.url,
      logger: testLogger(),
      maxConnections: 1,
      statementTimeoutMs: 60_000,
      applicationName: 'table-locked-test',
    });
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holding = locker.transaction(async (query) => {
      await query('LOCK TABLE webhook_events IN EXCLUSIVE MODE');
      locked();
      await released;
    });
    try {
      await isLocked;
      const reconciler = new Reconciler(source);
      await reconciler.send({
        prefix: 'locked',
        count: COUNT,
        concurrency: 10,
        post: async (body) => (await pipeline.ingest.post(body)).statusCode,
      });
      expect(reconciler.acceptedIds()).toHaveLength(COUNT);

      await new Promise((resolve) => setTimeout(resolve, LOCK_HELD_MS));
      // Reads go on under the lock: nothing could be stored meanwhile.
      const meanwhile = await pipeline.database.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM webhook_events WHERE source = $1',
        [source],
      );
      expect(meanwhile.rows[0]?.n).toBe(0);

      release();
      await holding;
      await reconciler.expectEveryAcceptedStoredOnce({
        db: pipeline.database.db,
        admin: pipeline.admin,
        topology: pipeline.topology,
        label: `stored after a ${LOCK_HELD_MS / 1000} s lock of the events table`,
      });
      const deadLetters = await pipeline.database.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM dead_letters',
      );
      expect(deadLetters.rows[0]?.n).toBe(0);
    } finally {
      release();
      await holding.catch(() => {});
      await locker.close();
    }
  }, 60_000);
});
