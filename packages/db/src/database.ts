import pg from 'pg';
import type { Logger } from 'pino';
import { classifyDatabaseError } from './errors.js';

/** The statements of one transaction (`Database.transaction`). */
export interface Transaction {
  query<Row extends pg.QueryResultRow>(
    text: string,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<Row>>;
}

export interface DatabaseOptions {
  connectionString: string;
  logger: Logger;
  /** Pool size. */
  maxConnections: number;
  /** Server-side limit for one statement; a slower one fails as a transient error. */
  statementTimeoutMs: number;
  /**
   * Longest wait for a lock (a table held by a migration), after which the statement fails as
   * `DatabaseUnavailableError`: no row is at fault, the caller waits it out. Default: half the
   * statement timeout, so a lock wait ends as that and not as a statement timeout.
   */
  lockTimeoutMs?: number;
  /** Longest wait for a connection (new or from the pool). Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Shown in `pg_stat_activity`. */
  applicationName: string;
}

/**
 * The pool and the one way to use it. Every error leaving here is a classified
 * `DatabaseError` (unavailable, transient or permanent) with the driver's error as `cause`.
 */
export class Database {
  readonly #pool: pg.Pool;
  #closed: Promise<void> | undefined;

  constructor(options: DatabaseOptions) {
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      statement_timeout: options.statementTimeoutMs,
      lock_timeout:
        options.lockTimeoutMs ?? Math.max(1, Math.floor(options.statementTimeoutMs / 2)),
      application_name: options.applicationName,
      idleTimeoutMillis: 30_000,
    });
    // An idle client losing its connection emits here; unhandled, it would crash the process.
    this.#pool.on('error', (err) => options.logger.warn({ err }, 'idle database connection lost'));
  }

  /** Runs one statement on a pooled connection. */
  async query<Row extends pg.QueryResultRow>(
    text: string,
    values: readonly unknown[] = [],
  ): Promise<pg.QueryResult<Row>> {
    try {
      return await this.#pool.query<Row>(text, values as unknown[]);
    } catch (err) {
      throw classifyDatabaseError(err);
    }
  }

  /**
   * Runs `work` in one transaction on one connection: committed when it resolves, rolled back
   * when it throws (the error is rethrown classified). Each statement inside sees what earlier
   * ones did and, under READ COMMITTED, what other transactions committed before it began.
   */
  async transaction<T>(work: (query: Transaction['query']) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw classifyDatabaseError(err);
    }
    let broken = false;
    // A checked-out client has no pool listener: its connection's error (a reset between two
    // statements) would be an uncaught exception. Here it only marks the client broken; the
    // statement running then, or the next one, fails with it.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work((text, values = []) => client.query(text, values as unknown[]));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw classifyDatabaseError(err);
    } finally {
      client.off('error', onError);
      // A connection lost, or that could not even roll back, is not given to the next caller.
      client.release(broken);
    }
  }

  /**
   * Resolves when the database answers and the events table exists; rejects with
   * `DatabaseUnavailableError` otherwise. Used by readiness checks and the consumer's circuit.
   */
  async probe(): Promise<void> {
    await this.query('SELECT 1 FROM webhook_events LIMIT 0');
  }

  /** Waits for checked-out clients, then closes the pool. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#pool.end();
    return this.#closed;
  }
}
