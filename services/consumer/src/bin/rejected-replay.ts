import { AmqpEnv, createLogger, DatabaseEnv, IngestEnv, LogEnv, parseEnv } from '@webhooks/config';
import { Rfc3339 } from '@webhooks/contracts';
import { RejectedRequestsRepository } from '@webhooks/db';
import { ProviderSourcesEnv, providerVerifier } from '@webhooks/providers';
import { eventMessage, publishingConnection, topologyFromSettings } from '@webhooks/queue';
import { replayRejected, summaryLine } from '../quarantine/rejected-replay.js';
import { commandDatabase } from './command-database.js';
import { runOperatorCommand } from './operator-command.js';

const USAGE = `Usage: pnpm rejected:replay [--source S] [--since T] [--dry-run]
Verifies the kept rejected requests (not yet admitted) again with the current WEBHOOK_SOURCES
and publishes those that now verify, as if they had just arrived; marks them admitted.
--since takes an RFC 3339 time (received at or after). Reads DATABASE_URL, AMQP_URL,
EXCHANGE_NAME, QUEUE_NAME, QUEUE_TYPE, RETRY_DELAYS_MS, WEBHOOK_SOURCES,
WEBHOOK_ALLOW_UNKNOWN_SOURCES and MAX_JSON_DEPTH like the services.`;

/** Longest wait for the broker's confirm of one replayed event. */
const PUBLISH_TIMEOUT_MS = 10_000;

// `pnpm rejected:replay`: after a secret is fixed in WEBHOOK_SOURCES, the deliveries refused
// meanwhile are admitted from the quarantine; the provider need not redeliver them.
process.exitCode = await runOperatorCommand({
  usage: USAGE,
  options: {
    source: { type: 'string' },
    since: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
  },
  run: async (values) => {
    if (values.since !== undefined && !Rfc3339.safeParse(values.since).success) {
      throw new Error('--since must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z');
    }
    const config = parseEnv(
      LogEnv.and(AmqpEnv).and(DatabaseEnv).and(IngestEnv).and(ProviderSourcesEnv),
      process.env,
    );
    const logger = createLogger({
      name: 'rejected-replay',
      level: config.LOG_LEVEL,
      pretty: false,
    });
    const topology = topologyFromSettings(config);
    const db = commandDatabase({ config, logger, command: 'rejected-replay' });
    const { connection, publisher } = publishingConnection({
      url: config.AMQP_URL,
      logger,
      connectionName: 'rejected-replay',
      timeoutMs: PUBLISH_TIMEOUT_MS,
      maxInFlight: 1,
      topology,
    });
    try {
      const dryRun = values['dry-run'];
      if (!dryRun) {
        connection.start();
        await connection.waitUntilConnected(PUBLISH_TIMEOUT_MS);
      }
      const summary = await replayRejected({
        repository: new RejectedRequestsRepository(db),
        verify: providerVerifier({
          providerSources: {
            sources: config.WEBHOOK_SOURCES,
            allowUnknown: config.WEBHOOK_ALLOW_UNKNOWN_SOURCES,
          },
          maxJsonDepth: config.MAX_JSON_DEPTH,
        }),
        publish: (event, context) => publisher.publish(eventMessage(event, topology, context)),
        source: values.source,
        since: values.since,
        dryRun,
      });
      process.stdout.write(`${summaryLine(summary, dryRun)}\n`);
    } finally {
      await publisher.close();
      await connection.close();
      await db.close();
    }
  },
});
