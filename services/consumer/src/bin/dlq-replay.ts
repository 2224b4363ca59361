import { AmqpEnv, createLogger, DatabaseEnv, parseEnv } from '@webhooks/config';
import { DeadLettersRepository } from '@webhooks/db';
import { QueueAdmin, topologyFromSettings } from '@webhooks/queue';
import { replayDeadLetters } from '../dead-letters/dlq-replay.js';
import { commandDatabase } from './command-database.js';
import { runOperatorCommand } from './operator-command.js';

const USAGE = `Usage: pnpm dlq:replay [--limit N] [--source S] [--type T] [--dry-run]
Moves messages from QUEUE_NAME_dlq back to QUEUE_NAME with attempts reset.
Reads AMQP_URL, QUEUE_NAME, EXCHANGE_NAME, QUEUE_TYPE, RETRY_DELAYS_MS like the services, and
DATABASE_URL to mark the recorded dead letters it moves as replayed (moving does not need it).`;

// `pnpm dlq:replay`: the operator's tool to move dead letters back once their cause is fixed.
process.exitCode = await runOperatorCommand({
  usage: USAGE,
  options: {
    limit: { type: 'string' },
    source: { type: 'string' },
    type: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
  },
  run: async (values) => {
    const limit = values.limit === undefined ? undefined : Number(values.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw new Error('--limit must be a positive whole number');
    }
    const config = parseEnv(AmqpEnv.and(DatabaseEnv), process.env);
    const topology = topologyFromSettings(config);
    const admin = await QueueAdmin.connect(config.AMQP_URL);
    const logger = createLogger({ name: 'dlq-replay', level: 'warn', pretty: false });
    const db = commandDatabase({ config, logger, command: 'dlq-replay' });
    try {
      // The same code as the console's replay; only the selection differs (here: by body).
      const result = await replayDeadLetters({
        admin,
        topology,
        limit,
        source: values.source,
        type: values.type,
        dryRun: values['dry-run'],
        deadLetters: new DeadLettersRepository(db),
        logger,
      });
      const moved = values['dry-run'] ? `would move ${result.matched}` : `moved ${result.moved}`;
      process.stdout.write(
        `${topology.deadLetterQueue} → ${topology.queue}: ${moved}, skipped ${result.skipped}, left ${result.left}\n`,
      );
    } finally {
      await admin.close();
      await db.close();
    }
  },
});
