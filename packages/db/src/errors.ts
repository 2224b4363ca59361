/**
 * Failure classes of the database, as the consumer must treat them:
 * - `DatabaseUnavailableError`: the database as a whole cannot be used (down, unreachable,
 *   refusing connections, schema missing, a table locked past the lock timeout, as by a
 *   migration). No message is at fault: hold them and wait.
 * - `TransientDatabaseError`: this attempt failed but the same statement may succeed later
 *   (deadlock, serialization failure, timeout). Retry the message later.
 * - `PermanentDatabaseError`: the database rejects the row as data. Retrying cannot help.
 */
export abstract class DatabaseError extends Error {
  abstract readonly kind: 'unavailable' | 'transient' | 'permanent';
  /** SQLSTATE, or the socket error code (e.g. `ECONNREFUSED`), when there is one. */
  readonly code: string | undefined;

  constructor(message: string, options: { cause: unknown; code: string | undefined }) {
    super(message, { cause: options.cause });
    this.code = options.code;
  }
}

export class DatabaseUnavailableError extends DatabaseError {
  readonly kind = 'unavailable';
  override name = 'DatabaseUnavailableError';
}

export class TransientDatabaseError extends DatabaseError {
  readonly kind = 'transient';
  override name = 'TransientDatabaseError';
}

export class PermanentDatabaseError extends DatabaseError {
  readonly kind = 'permanent';
  override name = 'PermanentDatabaseError';
}

/** SQLSTATE classes and codes that mean "the database, not this row" (PostgreSQL appendix A). */
const UNAVAILABLE_CLASSES = ['08', '28', '3D', '42', '53', '57', '58', 'XX'];
/**
 * A lock not granted within `lock_timeout` (the pool sets one below the statement timeout):
 * something holds a table, such as a migration (the partition upgrade locks the events for
 * seconds per million rows). Waited out like an outage, it costs no message its retries.
 */
const LOCKED_OUT = '55P03';
const TRANSIENT_CODES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '57014', // query_canceled (statement_timeout)
  '55006', // object_in_use
]);
const PERMANENT_CLASSES = ['22', '23']; // data_exception, integrity_constraint_violation

/** Socket error codes and node-postgres messages of a connection that failed or was lost. */
const CONNECTION_FAILURE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|Connection terminated|timeout exceeded when trying to connect|not queryable|connection error/i;

export type ClassifiedDatabaseError =
  | DatabaseUnavailableError
  | TransientDatabaseError
  | PermanentDatabaseError;

/** Maps anything `pg` throws onto one of the three classes, keeping it as `cause`. */
export function classifyDatabaseError(err: unknown): ClassifiedDatabaseError {
  if (
    err instanceof DatabaseUnavailableError ||
    err instanceof TransientDatabaseError ||
    err instanceof PermanentDatabaseError
  ) {
    return err;
  }
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const options = { cause: err, code };

  if (code === undefined || !/^[0-9A-Z]{5}$/.test(code)) {
    // No SQLSTATE: a lost or refused connection means the database is away; anything else
    // (a bug, a value the driver cannot encode) is this batch's problem, retried and then
    // dead-lettered, never a reason to hold every message forever.
    return CONNECTION_FAILURE.test(`${code ?? ''} ${message}`)
      ? new DatabaseUnavailableError(message, options)
      : new TransientDatabaseError(message, options);
  }
  if (code === LOCKED_OUT) return new DatabaseUnavailableError(message, options);
  if (TRANSIENT_CODES.has(code)) return new TransientDatabaseError(message, options);
  const sqlClass = code.slice(0, 2);
  if (PERMANENT_CLASSES.includes(sqlClass)) return new PermanentDatabaseError(message, options);
  if (UNAVAILABLE_CLASSES.includes(sqlClass)) return new DatabaseUnavailableError(message, options);
  // Anything else is retried a bounded number of times before it is dead-lettered.
  return new TransientDatabaseError(message, options);
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}
