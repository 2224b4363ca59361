import type { Database } from './database.js';

/** A partition of a table partitioned by day: it holds the rows of [from, to). */
export interface TablePartition {
  /** As PostgreSQL prints the table's name (quoted when it must be). */
  name: string;
  /** Null: no lower bound (MINVALUE). */
  from: Date | null;
  /** Null: no upper bound (MAXVALUE). */
  to: Date | null;
  /** A concurrent detach of it was interrupted. */
  detaching: boolean;
}

/** The tables partitioned by day (the migrations make them and their functions). */
export type PartitionedTable = 'webhook_events' | 'rejected_requests';

/**
 * SQLSTATEs of a detach that another retention run got to first: the table is no partition
 * any more (42P01), is being detached (55000), or (events) still has deliveries that run is
 * deleting (23503).
 */
const ANOTHER_RUN = new Set(['42P01', '55000', '23503']);

/** SQLSTATE of an insert whose row no partition accepts. */
const NO_PARTITION_FOR_ROW = '23514';

/**
 * The daily partitions of one table: listed by their bounds (never by their names: one
 * attached by hand is listed like the others), made ahead, dropped whole, vacuumed once their
 * day is over. Every method throws a classified `DatabaseError`.
 */
export class DailyPartitions {
  readonly #db: Pick<Database, 'query'>;
  readonly #table: PartitionedTable;

  constructor(db: Pick<Database, 'query'>, table: PartitionedTable) {
    this.#db = db;
    this.#table = table;
  }

  /**
   * The partitions, oldest first. `detaching`: a detach was interrupted (`DETACH …
   * CONCURRENTLY` stopped half-way); dropping it finishes that.
   */
  async list(): Promise<TablePartition[]> {
    const result = await this.#db.query<TablePartition>(
      `SELECT b.partition::text AS name,
         CASE WHEN isfinite(b.lower) THEN b.lower END AS "from",
         CASE WHEN isfinite(b.upper) THEN b.upper END AS "to",
         i.inhdetachpending AS detaching
       FROM partition_bounds($1::regclass) b
       JOIN pg_inherits i ON i.inhrelid = b.partition
       ORDER BY b.lower`,
      [this.#table],
    );
    return result.rows;
  }

  /**
   * Makes sure the `days` UTC days from the day of `from` (default: the database's today)
   * have partitions; returns how many it made. Days covered by a partition already (made
   * before, or attached by hand) are left as they are.
   */
  async create(from: Date | undefined, days: number): Promise<number> {
    const result = await this.#db.query<{ made: number }>(
      `SELECT create_daily_partitions($1::regclass,
         (coalesce($2::timestamptz, now()) AT TIME ZONE 'UTC')::date, $3) AS made`,
      [this.#table, from ?? null, days],
    );
    return result.rows[0]?.made ?? 0;
  }

  /**
   * Detaches the partition concurrently (inserts and queries of the other partitions never
   * wait for it) and drops it. Returns false when another run (another consumer) had it:
   * detached or dropped already, being detached, or (events) its deliveries still being
   * deleted; it is then left to that run, or to the next one.
   */
  async detachAndDrop(partition: TablePartition): Promise<boolean> {
    const name = partitionName(partition.name);
    const detached = await this.#db
      .query(
        partition.detaching
          ? `ALTER TABLE ${this.#table} DETACH PARTITION ${name} FINALIZE`
          : `ALTER TABLE ${this.#table} DETACH PARTITION ${name} CONCURRENTLY`,
      )
      .then(
        () => true,
        (err: unknown) => {
          if (!ANOTHER_RUN.has((err as { code?: string }).code ?? '')) throw err;
          return false;
        },
      );
    if (detached) await this.#db.query(`DROP TABLE IF EXISTS ${name}`);
    return detached;
  }

  /**
   * Builds, concurrently, the indexes of the table that a partition lacks, and attaches them:
   * after an upgrade the table that was there before has neither of the two indexes the
   * migration made for the partitions only (ON ONLY), which leaves those indexes invalid on
   * the parent until this has run. Inserts and queries go on meanwhile. Returns the indexes
   * built.
   */
  async completeIndexes(): Promise<string[]> {
    const missing = await this.#db.query<{ definition: string; parent: string; partition: string }>(
      `SELECT pg_get_indexdef(pi.indexrelid) AS definition, pi.indexrelid::regclass::text AS parent,
         b.partition::text AS partition
       FROM pg_index pi
       CROSS JOIN partition_bounds($1::regclass) b
       WHERE pi.indrelid = $1::regclass AND NOT pi.indisvalid
         AND NOT EXISTS (
           SELECT 1 FROM pg_inherits ii JOIN pg_index ci ON ci.indexrelid = ii.inhrelid
           WHERE ii.inhparent = pi.indexrelid AND ci.indrelid = b.partition)
       ORDER BY b.lower`,
      [this.#table],
    );
    const built: string[] = [];
    for (const { definition, parent, partition } of missing.rows) {
      const table = partitionName(partition);
      const name = partitionName(
        `${table}_${parent.replace(new RegExp(`^${this.#table}_`), '')}`.slice(0, 63),
      );
      const create = definition.replace(
        /^CREATE (UNIQUE )?INDEX \S+ ON ONLY \S+ /,
        `CREATE $1INDEX CONCURRENTLY ${name} ON ${table} `,
      );
      if (create === definition) throw new Error(`unexpected index definition: ${definition}`);
      // A build stopped half-way leaves an invalid index of that name: it is made again.
      await this.#db.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
      await this.#db.query(create);
      await this.#db.query(`ALTER INDEX ${partitionName(parent)} ATTACH PARTITION ${name}`);
      built.push(name);
    }
    return built;
  }

  /**
   * Vacuums (and analyzes) each partition whose day is over and that was not vacuumed since;
   * returns their names. A day's partition is written only during its day, so this happens
   * once per partition: it empties the pending list of a GIN index, which otherwise every
   * search reads through, and sets its visibility map and statistics. VACUUM waits for no
   * insert or query.
   */
  async vacuumClosed(): Promise<string[]> {
    const closed = await this.#db.query<{ name: string }>(
      `SELECT b.partition::text AS name
       FROM partition_bounds($1::regclass) b
       JOIN pg_stat_user_tables s ON s.relid = b.partition
       WHERE b.upper <= now()
         AND coalesce(greatest(s.last_vacuum, s.last_autovacuum), '-infinity') < b.upper
       ORDER BY b.lower`,
      [this.#table],
    );
    for (const { name } of closed.rows) {
      await this.#db.query(`VACUUM (ANALYZE) ${partitionName(name)}`);
    }
    return closed.rows.map((row) => row.name);
  }
}

/** Whether an insert failed because no partition takes one of its rows. */
export function isNoPartition(err: unknown): boolean {
  const error = err as { code?: unknown; message?: unknown };
  return (
    error.code === NO_PARTITION_FOR_ROW &&
    typeof error.message === 'string' &&
    error.message.includes('no partition')
  );
}

/** A partition's name as listed by `list()`, checked before it is put in a statement. */
function partitionName(name: string): string {
  if (!/^(("[^"]+"|[a-z_][a-z0-9_$]*)\.)?("[^"]+"|[a-z_][a-z0-9_$]*)$/.test(name)) {
    throw new Error(`not a table name: ${name}`);
  }
  return name;
}
