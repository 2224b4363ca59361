import { type Database, DeliveriesRepository } from '@webhooks/db';

/** What delivery churns: each delivery is inserted, updated twice, and deleted with its event. */
const DELIVERY_TABLES = 'deliveries, delivery_attempts, delivery_order_keys, subscriptions';

/**
 * Vacuums the delivery tables (and the events), so that a run starts from the tables a running
 * autovacuum keeps rather than from the dead rows of the runs before it: on a database with
 * autovacuum off they pile up (about a million after the delivery drains) and every claim walks
 * them.
 */
export async function vacuumDeliveryTables(db: Database): Promise<void> {
  await db.query(`VACUUM (ANALYZE) ${DELIVERY_TABLES}, webhook_events`);
}

/** Whether the database vacuums the deliveries table by itself, as the consumer reads it. */
export function autovacuumIsOn(db: Database): Promise<boolean> {
  return new DeliveriesRepository(db).vacuumedAutomatically();
}

/** Autovacuum's own pause between looks at a table (`autovacuum_naptime`'s default). */
const NAPTIME_MS = 60_000;

/**
 * On a database with autovacuum off, vacuums the delivery tables once a minute, as autovacuum
 * would look at them, for a run too long to start clean and stay so. Does nothing where
 * autovacuum is on. `stop()` waits for a vacuum under way; `vacuums` counts those run.
 */
export function standInForAutovacuum(
  db: Database,
  autovacuum: boolean,
): { stop(): Promise<void>; readonly vacuums: number } {
  let vacuums = 0;
  let running: Promise<void> = Promise.resolve();
  const timer = autovacuum
    ? undefined
    : setInterval(() => {
        running = running
          .then(() => db.query(`VACUUM ${DELIVERY_TABLES}`))
          .then(() => {
            vacuums += 1;
          });
      }, NAPTIME_MS);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
    get vacuums() {
      return vacuums;
    },
  };
}
