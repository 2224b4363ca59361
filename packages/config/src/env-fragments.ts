import { DEFAULT_MAX_JSON_DEPTH, JSON_DEPTH_CEILING } from '@webhooks/contracts';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();

/** Logging. */
export const LogEnv = z.object({
  /** pino level. Default `info`. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type LogEnv = z.infer<typeof LogEnv>;

/** The HTTP listener; the default port differs per service. */
export function httpEnv(defaultPort: number) {
  return z.object({
    /** Listening port. */
    PORT: port.default(defaultPort),
    /** Listening address. Default `0.0.0.0`. */
    HOST: z.string().min(1).default('0.0.0.0'),
    /** Longest a graceful shutdown may take before the process exits anyway, ms. Default 10000. */
    SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
  });
}

const delayList = z.string().transform((raw, ctx) => {
  const parts = raw.split(',').map((part) => part.trim());
  const delays = parts.map(Number);
  if (delays.some((d) => !Number.isInteger(d) || d <= 0)) {
    ctx.addIssue({ code: 'custom', message: 'expected comma-separated positive integers (ms)' });
    return z.NEVER;
  }
  if (new Set(delays).size !== delays.length) {
    ctx.addIssue({ code: 'custom', message: 'delays must be distinct (one retry queue each)' });
    return z.NEVER;
  }
  return delays;
});

const amqpUrl = z.url({ protocol: /^amqps?$/, error: 'expected an amqp:// or amqps:// URL' });

/** One broker URL, or several separated by commas (the nodes of a cluster). */
const amqpUrlList = z.string().transform((raw, ctx) => {
  const urls = raw
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (urls.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected at least one amqp:// or amqps:// URL' });
    return z.NEVER;
  }
  for (const [index, url] of urls.entries()) {
    if (!amqpUrl.safeParse(url).success) {
      ctx.addIssue({
        code: 'custom',
        message: `URL ${index + 1} of ${urls.length}: expected an amqp:// or amqps:// URL`,
      });
      return z.NEVER;
    }
  }
  return urls;
});

/** RabbitMQ connection and topology, shared by both services. */
export const AmqpEnv = z.object({
  /**
   * Broker URL, or the URLs of a cluster's nodes separated by commas: each process starts at a
   * random one and moves to the next that answers when it loses its node. Default
   * `amqp://guest:guest@127.0.0.1:5672`.
   */
  AMQP_URL: amqpUrlList.default(['amqp://guest:guest@127.0.0.1:5672']),
  /** Exchange the ingest API publishes to. Default `webhooks`. */
  EXCHANGE_NAME: z.string().min(1).max(200).default('webhooks'),
  /** Main queue; the DLQ and retry queues are named after it. Default `webhook_queue`. */
  QUEUE_NAME: z.string().min(1).max(200).default('webhook_queue'),
  /**
   * `quorum` (replicated over a cluster's nodes) or `classic` (one node's disk). Default
   * `quorum`; a queue's type cannot change in place (see "Changing the queue type" in docs/operations.md).
   */
  QUEUE_TYPE: z.enum(['classic', 'quorum']).default('quorum'),
  /** Delay before each retry, in ms; one retry queue per delay. Default `1000,2000,4000`. */
  RETRY_DELAYS_MS: delayList.default([1000, 2000, 4000]),
});
export type AmqpEnv = z.infer<typeof AmqpEnv>;

/** The ingest API's own settings. */
export const IngestEnv = z.object({
  /** Longest wait for the broker's confirm before answering 503. Default 5000. */
  PUBLISH_TIMEOUT_MS: positiveInt.default(5000),
  /** Largest accepted body, bytes. Default 1 MiB. */
  MAX_BODY_BYTES: positiveInt.default(1_048_576),
  /** Publishes awaiting a confirm at once; past it the API answers 503. Default 2000. */
  MAX_IN_FLIGHT: positiveInt.default(2000),
  /** `Retry-After` seconds on a 503. Default 5. */
  RETRY_AFTER_SECONDS: positiveInt.default(5),
  /**
   * Deepest nesting of objects and arrays in an event's `data` (`data` is level 1); deeper gets
   * 400. At most the contract's ceiling, which the consumer enforces too. Default 64.
   */
  MAX_JSON_DEPTH: positiveInt.max(JSON_DEPTH_CEILING).default(DEFAULT_MAX_JSON_DEPTH),
  /** Longest a client may take to send a whole request (headers and body), ms. Default 30000. */
  REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  /** Longest a client may take to send its headers, ms; capped at the above. Default 10000. */
  HEADERS_TIMEOUT_MS: positiveInt.default(10_000),
  /** How long an idle keep-alive connection stays open, ms. Default 5000. */
  KEEP_ALIVE_TIMEOUT_MS: positiveInt.default(5000),
});
export type IngestEnv = z.infer<typeof IngestEnv>;

/** PostgreSQL. */
export const DatabaseEnv = z.object({
  /** Default `postgres://postgres@127.0.0.1:5432/webhooks`. */
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// URL' })
    .default('postgres://postgres@127.0.0.1:5432/webhooks'),
  /** Pool size. Default 10. */
  DATABASE_POOL_SIZE: positiveInt.default(10),
  /** Statement timeout, ms; a slower insert counts as a transient failure. Default 10000. */
  DATABASE_STATEMENT_TIMEOUT_MS: positiveInt.default(10_000),
});
export type DatabaseEnv = z.infer<typeof DatabaseEnv>;

/** The migration runner (`pnpm migrate`, the compose `migrate` job). */
export const MigrationsEnv = z.object({
  /**
   * Folder of the migration files. Unset: the repository's `migrations/`, found from the
   * runner's own location; an image, whose layout differs, sets it.
   */
  MIGRATIONS_DIR: z.string().min(1).optional(),
});
export type MigrationsEnv = z.infer<typeof MigrationsEnv>;

/** The consumer's own settings. */
export const ConsumerEnv = z.object({
  /** Unacknowledged messages the broker may hand this consumer. Default 1000. */
  PREFETCH: positiveInt.max(65_535).default(1000),
  /**
   * Most message bytes the consumer holds unacknowledged (taken from the queue and not yet
   * stored and acked, retried or dead-lettered): past it, it takes no more until enough is
   * settled. Bounds its memory where `PREFETCH` alone cannot (1,000 bodies of 1 MiB are 1 GB),
   * the batch being stored included, so it also caps a batch below `BATCH_MAX_BYTES`. One
   * message larger than this is still taken when nothing else is held. Default 4 MiB.
   */
  PREFETCH_MAX_BYTES: positiveInt.default(4_194_304),
  /** Most messages stored by one INSERT. Default 500. */
  BATCH_SIZE: positiveInt.max(10_000).default(500),
  /**
   * Most message bytes stored by one INSERT: a batch ends at `BATCH_SIZE` messages or this many
   * bytes, whichever comes first (a larger message is stored alone). Bounds the statement's
   * size and the memory it takes. Default 16 MiB.
   */
  BATCH_MAX_BYTES: positiveInt.default(16_777_216),
  /** Longest a message waits for its batch to fill, ms. Default 50. */
  BATCH_MAX_WAIT_MS: positiveInt.default(50),
  /** How often the database is probed while the circuit is open, ms. Default 1000. */
  DB_PROBE_INTERVAL_MS: positiveInt.default(1000),
  /**
   * When set, `/events` and `/stats` require `Authorization: Bearer <OPS_TOKEN>`. Unset by
   * default: then they are open to whoever reaches the consumer's port.
   */
  OPS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
});
export type ConsumerEnv = z.infer<typeof ConsumerEnv>;

/** Removal of old events: by the consumer, periodically, and by `pnpm retention`. */
export const RetentionEnv = z.object({
  /** Events stored longer ago than this many days are removed; 0 keeps them all. Default 30. */
  RETENTION_DAYS: z.coerce.number().int().min(0).default(30),
  /** How often the consumer removes them, ms; the first run is soon after start. Default 1 h. */
  RETENTION_INTERVAL_MS: positiveInt.default(3_600_000),
  /** Rows removed per DELETE, each its own short transaction. Default 1000. */
  RETENTION_BATCH_SIZE: positiveInt.max(100_000).default(1000),
});
export type RetentionEnv = z.infer<typeof RetentionEnv>;
