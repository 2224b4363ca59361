import {
  createLogger,
  DatabaseEnv,
  LogEnv,
  parseEnv,
  RejectedRetentionEnv,
  RetentionEnv,
} from '@webhooks/config';
import { DeadLettersRepository, EventsRepository, RejectedRequestsRepository } from '@webhooks/db';
import {
  removeEventsAndResolvedDeadLetters,
  removeRejectedRequests,
} from '../retention/remove-kept-rows.js';
import { commandDatabase } from './command-database.js';
import { runOperatorCommand } from './operator-command.js';

const USAGE = `Usage: pnpm retention
Makes the partitions of events for today and the days ahead; drops the partitions of events
stored more than RETENTION_DAYS days ago (0: none) with their deliveries, and clears their
dedup keys; removes dead-letter records past RETENTION_DAYS that were replayed and stored;
removes kept rejected requests received more than REJECTED_RETENTION_DAYS days ago (0: none)
and the oldest beyond REJECTED_MAX_ROWS. RETENTION_BATCH_SIZE rows per DELETE. Once; reads
DATABASE_URL and the retention settings like the consumer.`;

// `pnpm retention`: the consumer's periodic retention, run once by hand (or by cron). Ctrl-C
// stops it after the step in hand; everything removed by then stays removed.
process.exitCode = await runOperatorCommand({
  usage: USAGE,
  options: {},
  run: async () => {
    const config = parseEnv(
      DatabaseEnv.and(RetentionEnv).and(RejectedRetentionEnv).and(LogEnv),
      process.env,
    );
    const logger = createLogger({
      name: 'retention',
      level: config.LOG_LEVEL,
      pretty: process.stdout.isTTY === true,
    });
    const db = commandDatabase({ config, logger, command: 'retention' });
    const interrupt = new AbortController();
    process.once('SIGINT', () => interrupt.abort());
    process.once('SIGTERM', () => interrupt.abort());
    const say = (line: string) => process.stdout.write(`${line}\n`);
    try {
      const result = await removeEventsAndResolvedDeadLetters({
        events: new EventsRepository(db),
        deadLetters: new DeadLettersRepository(db),
        retentionDays: config.RETENTION_DAYS,
        batchSize: config.RETENTION_BATCH_SIZE,
        signal: interrupt.signal,
      });
      const stoppedEarly = result.interrupted ? ' (interrupted)' : '';
      say(`made ${result.partitionsMade ?? 0} partition(s) of events for the days ahead`);
      if (result.createdBefore === undefined) {
        say('RETENTION_DAYS=0: events are kept');
      } else {
        say(
          `dropped ${result.partitionsDropped ?? 0} partition(s) of events stored before ${result.createdBefore.toISOString()}, cleared ${result.deleted} event key(s) in ${result.batches} batch(es), removed ${result.deadLetters} resolved dead letter(s)${stoppedEarly}`,
        );
      }
      const kept = await removeRejectedRequests({
        rejected: new RejectedRequestsRepository(db),
        retentionDays: config.REJECTED_RETENTION_DAYS,
        maxRows: config.REJECTED_MAX_ROWS,
        batchSize: config.RETENTION_BATCH_SIZE,
        signal: interrupt.signal,
      });
      const before =
        kept.createdBefore === undefined
          ? ''
          : ` received before ${kept.createdBefore.toISOString()} or`;
      say(
        `removed ${kept.deleted} rejected request(s)${before} beyond the newest ${config.REJECTED_MAX_ROWS}${kept.interrupted ? ' (interrupted)' : ''}`,
      );
    } finally {
      await db.close();
    }
  },
});
