import { ConfigError, createLogger, handleShutdownSignals, parseEnv } from '@webhooks/config';
import dotenv from 'dotenv';
import { IngestConfig } from './config.js';
import { createIngestService } from './ingest-service.js';

dotenv.config({ quiet: true });

let config: IngestConfig;
try {
  config = parseEnv(IngestConfig, process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}

const logger = createLogger({
  name: 'ingest-api',
  level: config.LOG_LEVEL,
  pretty: process.stdout.isTTY === true,
});
const service = createIngestService(config, logger);

handleShutdownSignals({
  process,
  logger,
  timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  shutdown: service.stop,
});

// The broker is not needed to start: it is retried in the background, and requests get 503.
service.start();
await service.app.listen({ port: config.PORT, host: config.HOST });
