import {
  createLogger,
  DatabaseEnv,
  LogEnv,
  parseEnv,
  RejectedRetentionEnv,
  RetentionEnv,
} from '@webhooks/config';
import { EventsRepository, RejectedRequestsRepository } from '@webhooks/db';
import { removeExpiredEvents } from '../retention/remove-expired-events.js';
import { commandDatabase } from './command-database.js';
import { runOperatorCommand } from './operator-command.js';

const USAGE = `Usage: pnpm retention
Removes events stored more than RETENTION_DAYS days ago (0: none) and kept rejected requests
received more than REJECTED_RETENTION_DAYS days ago (0: none), RETENTION_BATCH_SIZE rows per
statement, once. Reads DATABASE_URL and the retention settings like the consumer.`;

// `pnpm retention`: the consumer's periodic retention, run once by hand (or by cron). Ctrl-C
// stops it after the batch in hand; every batch removed by then stays removed.
process.exitCode = await runOperatorCommand({
  usage: USAGE,
  options: {},
  run: async () => {
    const config = parseEnv(
      DatabaseEnv.and(RetentionEnv).and(RejectedRetentionEnv).and(LogEnv),
      process.env,
    );
    if (config.RETENTION_DAYS === 0 && config.REJECTED_RETENTION_DAYS === 0) {
      process.stdout.write(
        'RETENTION_DAYS=0 and REJECTED_RETENTION_DAYS=0: retention is disabled, nothing removed\n',
      );
    } else {
      const logger = createLogger({
        name: 'retention',
        level: config.LOG_LEVEL,
        pretty: process.stdout.isTTY === true,
      });
      const db = commandDatabase({ config, logger, command: 'retention' });
      const interrupt = new AbortController();
      process.once('SIGINT', () => interrupt.abort());
      process.once('SIGTERM', () => interrupt.abort());
      try {
        const result = await removeExpiredEvents({
          events: new EventsRepository(db),
          retentionDays: config.RETENTION_DAYS,
          batchSize: config.RETENTION_BATCH_SIZE,
          signal: interrupt.signal,
        });
        const stoppedEarly = result.interrupted ? ' (interrupted)' : '';
        if (result.createdBefore !== undefined) {
          process.stdout.write(
            `removed ${result.deleted} event(s) stored before ${result.createdBefore.toISOString()} in ${result.batches} batch(es)${stoppedEarly}\n`,
          );
        }
        const rejected = new RejectedRequestsRepository(db);
        const kept = await removeExpiredEvents({
          events: {
            deleteCreatedBefore: (before, limit) => rejected.deleteReceivedBefore(before, limit),
          },
          retentionDays: config.REJECTED_RETENTION_DAYS,
          batchSize: config.RETENTION_BATCH_SIZE,
          signal: interrupt.signal,
        });
        if (kept.createdBefore !== undefined) {
          process.stdout.write(
            `removed ${kept.deleted} rejected request(s) received before ${kept.createdBefore.toISOString()}${kept.interrupted ? ' (interrupted)' : ''}\n`,
          );
        }
      } finally {
        await db.close();
      }
    }
  },
});
